#!/bin/bash
# make_samples.sh -- regenerate logscope's sample_logs/ from the postfix-lab harness.
#
# The harness (postfix-lab/run_harness.sh) runs a real Postfix 3.7 (Debian 12
# package) on loopback, drives ~40 traffic scenarios into it and leaves the log in
# $LAB_DIR/maillog. This script runs it three times and copies the logs out:
#
#   postlog/mail.log                default run: postlogd maillog_file, "Mon DD HH:MM:SS" stamps
#   syslog/mail.log                 LOG_MODE=syslog: rsyslogd, RFC 3339 stamps
#   amavis/mail.log, amavis.log     WITH_AMAVIS=1: Postfix log + amavisd-new's own log file
#   rotated/mail.log{,.1,.2.gz}     postlog/mail.log cut at second boundaries, logrotate style
#
# Every file's mtime is set to the timestamp of its own last line (logscope anchors
# year inference on mtime). git does not keep mtimes: after a checkout run
#   sample_logs/make_samples.sh touch
# to re-apply them without running the harness.
#
# usage:  sample_logs/make_samples.sh          # run harness, collect, cut, touch, verify, README
#         sample_logs/make_samples.sh touch    # only re-apply mtimes to existing files
#         sample_logs/make_samples.sh verify   # only the scenario checks
#         sample_logs/make_samples.sh rotate   # only re-cut rotated/ from postlog/mail.log
#         sample_logs/make_samples.sh readme   # only rewrite README.md (same LAB_DIR as the run)
# env:    SHARED_DIR  dir holding postfix-lab/   (default: <repo root>/../shared)
#         LAB_DIR     harness state, one subdir per run (default: /tmp/logscope-lab)
#         OUT_DIR     where the samples go       (default: the directory of this script)
#         RUNS        which harness runs          (default: "postlog syslog amavis")
#         HARNESS_MAX_SECONDS  per-run watchdog passed to the harness (default: 420)
#         SKIP_INSTALL=1       passed to the harness (packages already installed)
#         SAMPLE_YEAR          year for "Mon DD" stamps (default: from syslog/mail.log, else now)
# needs:  root on Debian 12, bash, python3 (stdlib only). The harness apt-installs
#         postfix swaks python3-dnslib sasl2-bin openssl (+ rsyslog, amavisd-new spamassassin).
#         LOG_MODE=syslog needs a machine without /dev/log (no journald/syslogd).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$HERE/.." && pwd)
SHARED_DIR=${SHARED_DIR:-$REPO_ROOT/../shared}
LAB_SRC=$SHARED_DIR/postfix-lab
HARNESS=$LAB_SRC/run_harness.sh
LAB_DIR=${LAB_DIR:-/tmp/logscope-lab}
OUT_DIR=${OUT_DIR:-$HERE}
RUNS=${RUNS:-postlog syslog amavis}
export HARNESS_MAX_SECONDS=${HARNESS_MAX_SECONDS:-420}
MODE=${1:-all}

say() { printf '[make_samples] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- python helpers --
# one stdlib-only python program with sub-commands: lastts, touch, rotate, info
py() {
    SAMPLE_YEAR=${SAMPLE_YEAR:-} OUT_DIR=$OUT_DIR python3 - "$@" <<'PY'
import datetime as dt, gzip, os, re, sys, time

MON = {m: i + 1 for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())}
TRAD = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(\.\d+)? ")
RFC = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))\s")

def ref_time():
    """Reference for year inference of 'Mon DD' stamps (they carry no year)."""
    if os.environ.get("SAMPLE_YEAR"):
        return dt.datetime(int(os.environ["SAMPLE_YEAR"]), 12, 31, 23, 59, 59)
    sl = os.path.join(os.environ["OUT_DIR"], "syslog", "mail.log")
    if os.path.exists(sl):           # same generation session, full RFC 3339 dates
        ts = None
        with open(sl, encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                m = RFC.match(line)
                if m:
                    ts = m.group(1)
        if ts:
            return dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone().replace(tzinfo=None)
    return dt.datetime.now()

REF = None
def epoch(line):
    """Seconds since the epoch (float) of a log line, or None."""
    global REF
    m = RFC.match(line)
    if m:
        return dt.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
    m = TRAD.match(line)
    if not m:
        return None
    if REF is None:
        REF = ref_time()
    mon, day, hh, mm, ss, frac = m.groups()
    t = dt.datetime(REF.year, MON[mon], int(day), int(hh), int(mm), int(ss))
    if t - REF > dt.timedelta(days=1):   # "in the future": it was last year
        t = t.replace(year=REF.year - 1)
    return time.mktime(t.timetuple()) + (float(frac) if frac else 0.0)   # local time, like syslog

def read_lines(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt", encoding="utf-8", errors="surrogateescape") as f:
        return f.readlines()

def last_epoch(path):
    for line in reversed(read_lines(path)):
        e = epoch(line)
        if e is not None:
            return e
    raise SystemExit(f"no timestamped line in {path}")

def fmt(e):
    return dt.datetime.fromtimestamp(e).astimezone().isoformat(timespec="microseconds")

def cmd_touch(paths):
    for p in paths:
        e = last_epoch(p)
        os.utime(p, (e, e))
        print(f"{p}\tmtime={fmt(e)}")

def cmd_rotate(src, outdir, parts=3):
    lines = read_lines(src)
    n = len(lines)
    secs, cur = [], None
    for line in lines:                      # unstamped lines stick to the line before
        e = epoch(line)
        cur = int(e) if e is not None else cur
        secs.append(cur if cur is not None else -1)
    pmax, smin = [0] * n, [0] * n
    for i in range(n):
        pmax[i] = secs[i] if i == 0 else max(pmax[i - 1], secs[i])
    for i in range(n - 1, -1, -1):
        smin[i] = secs[i] if i == n - 1 else min(smin[i + 1], secs[i])
    # a cut before line i keeps every second in one file: all earlier lines < all later lines
    valid = [i for i in range(1, n) if pmax[i - 1] < smin[i]]
    cuts, lo = [], 0
    for k in range(1, parts):
        target = round(n * k / parts)
        cand = [i for i in valid if i > lo and (n - i) >= (parts - k)]
        if not cand:
            raise SystemExit("cannot find enough second boundaries to cut at")
        c = min(cand, key=lambda i: (abs(i - target), i))
        cuts.append(c)
        lo = c
    bounds = [0] + cuts + [n]
    chunks = [lines[bounds[j]:bounds[j + 1]] for j in range(parts)]   # oldest first
    names = ["mail.log.%d" % (parts - 1 - j) for j in range(parts)]
    names[-1] = "mail.log"
    os.makedirs(outdir, exist_ok=True)
    for old in os.listdir(outdir):
        if old.startswith("mail.log"):
            os.remove(os.path.join(outdir, old))
    for j, (name, chunk) in enumerate(zip(names, chunks)):
        e = last_epoch_of(chunk)
        if j < parts - 2:                   # logrotate "delaycompress": .1 plain, older .gz
            name += ".gz"
            path = os.path.join(outdir, name)
            with open(path, "wb") as raw:   # like gzip(1): name and mtime of the original file
                with gzip.GzipFile(filename=name[:-3], mode="wb", fileobj=raw, mtime=int(e)) as gz:
                    gz.write("".join(chunk).encode("utf-8", "surrogateescape"))
        else:
            path = os.path.join(outdir, name)
            with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write("".join(chunk))
        os.utime(path, (e, e))
        print(f"{name}\tlines={len(chunk)}\tfirst={chunk[0][:15] if TRAD.match(chunk[0]) else chunk[0].split()[0]}"
              f"\tlast={chunk[-1][:15] if TRAD.match(chunk[-1]) else chunk[-1].split()[0]}\tmtime={fmt(e)}")
    for c in cuts:
        print(f"cut\tbefore line {c + 1} of {n}\t{lines[c - 1][:15]} | {lines[c][:15]}")

def last_epoch_of(chunk):
    for line in reversed(chunk):
        e = epoch(line)
        if e is not None:
            return e
    raise SystemExit("chunk without timestamps")

def cmd_info(paths):
    """path, lines, bytes, first stamp, last stamp, distinct programs, unparsable lines"""
    for p in paths:
        lines = read_lines(p)
        stamps = [l for l in lines if epoch(l) is not None]
        progs = set()
        for l in lines:
            m = re.match(r"^(?:\S+ +\d+ \S+|\S+) \S+ ([^\s\[:]+)", l)
            if m:
                progs.add(m.group(1))
        first = stamps[0].split(" ")[0] if RFC.match(stamps[0]) else stamps[0][:15]
        last = stamps[-1].split(" ")[0] if RFC.match(stamps[-1]) else stamps[-1][:15]
        print(f"{p}\t{len(lines)}\t{os.path.getsize(p)}\t{first}\t{last}\t{len(progs)}\t{len(lines) - len(stamps)}")

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "touch":
    cmd_touch(args)
elif cmd == "rotate":
    cmd_rotate(args[0], args[1])
elif cmd == "info":
    cmd_info(args)
elif cmd == "lastts":
    for p in args:
        print(fmt(last_epoch(p)))
else:
    raise SystemExit("unknown sub-command " + cmd)
PY
}

all_logs() {   # every sample file that exists, in a fixed order
    local f
    for f in postlog/mail.log syslog/mail.log amavis/mail.log amavis/amavis.log \
             rotated/mail.log.2.gz rotated/mail.log.1 rotated/mail.log; do
        [ -f "$OUT_DIR/$f" ] && printf '%s\n' "$OUT_DIR/$f"
    done
    return 0
}

# ---------------------------------------------------------------- scenario checks --
# pattern | file (relative to OUT_DIR) | what it proves  (see postfix-lab/scenarios.json)
CHECKS='127.0.0.44|postlog/mail.log|forged local sender client (.44)
Sender address rejected: Forged local sender|postlog/mail.log|forged local sender reject
127.0.0.50|postlog/mail.log|connection-rate abuser (.50)
Connection rate limit exceeded|postlog/mail.log|anvil connection rate limit
Connection concurrency limit exceeded|postlog/mail.log|anvil concurrency limit
Message delivery request rate limit exceeded|postlog/mail.log|anvil message rate limit
Recipient address rate limit exceeded|postlog/mail.log|anvil recipient rate limit
statistics: max connection rate|postlog/mail.log|anvil statistics
RBL lookup error|postlog/mail.log|dead/servfail DNSBL
blocked using all.test|postlog/mail.log|all.test lists everything
blocked using rbl.test|postlog/mail.log|RBL reject
blocked using rhsbl.test|postlog/mail.log|RHSBL reject
postfix/postscreen|postlog/mail.log|postscreen
PREGREET|postlog/mail.log|postscreen pregreet
DENYLISTED|postlog/mail.log|postscreen denylist
SASL LOGIN authentication failed|postlog/mail.log|SASL brute force (.88)
status=expired, returned to sender|postlog/mail.log|queue expiry
sender delay notification|postlog/mail.log|delay warning
reject: header|postlog/mail.log|header_checks
127.0.0.44|syslog/mail.log|syslog run: forged sender client
127.0.0.50|syslog/mail.log|syslog run: rate abuser
RBL lookup error|syslog/mail.log|syslog run: dead DNSBL
all.test|syslog/mail.log|syslog run: all.test
statistics: max connection rate|syslog/mail.log|syslog run: anvil statistics
Passed CLEAN|amavis/amavis.log|amavis clean mail
Blocked SPAM|amavis/amavis.log|amavis GTUBE
Blocked BANNED|amavis/amavis.log|amavis banned .exe
postfix/amavis/smtp|amavis/mail.log|Postfix -> amavis relay
postfix/10025/smtpd|amavis/mail.log|amavis -> Postfix re-injection
127.0.0.50|rotated/mail.log.2.gz rotated/mail.log.1 rotated/mail.log|rotated series: rate abuser'

verify() {
    local missing=0 pat files what f n total
    printf '| pattern | file | lines | scenario |\n|---|---|---:|---|\n'
    while IFS='|' read -r pat files what; do
        total=0
        for f in $files; do
            [ -f "$OUT_DIR/$f" ] || continue
            if [[ $f == *.gz ]]; then n=$(gzip -dc "$OUT_DIR/$f" | grep -cF -- "$pat" || true)
            else n=$(grep -cF -- "$pat" "$OUT_DIR/$f" || true); fi
            total=$((total + n))
        done
        [ -f "$OUT_DIR/${files%% *}" ] || continue      # run not part of this OUT_DIR
        [ "$total" -gt 0 ] || { missing=$((missing + 1)); say "MISSING: '$pat' in $files ($what)"; }
        printf '| `%s` | %s | %s | %s |\n' "$pat" "${files// /, }" "$total" "$what"
    done <<< "$CHECKS"
    return "$missing"
}

# ---------------------------------------------------------------- harness runs --
port_busy() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

check_stopped() {   # nothing the harness started in $1 may still be alive
    local h=$1 p f bad=0
    for f in "$h/spool/pid/master.pid" "$h/run/dnsd.pid" "$h/run/rsyslogd.pid" "$h/amavis/home/amavisd.pid"; do
        p=$(tr -d ' \n' 2>/dev/null < "$f" || true)
        if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
            say "process $p from $f is still running; stopping it"; kill -TERM "$p" 2>/dev/null || true; bad=1
        fi
    done
    return $bad
}

run_one() {   # run_one <name> <env assignments...>
    local name=$1; shift
    local h=$LAB_DIR/$name
    port_busy 127.0.0.1 2525 && die "127.0.0.1:2525 is in use (another lab run?)"
    port_busy 127.0.0.1 10024 && [ "$name" = amavis ] && die "127.0.0.1:10024 is in use"
    mkdir -p "$h"
    say "harness run '$name': env $* LAB_DIR=$h (takes ~100-140 s)"
    local t0=$SECONDS rc=0
    env "$@" LAB_DIR="$h" bash "$HARNESS" > "$h/harness.out" 2>&1 || rc=$?
    say "harness run '$name' exited $rc after $((SECONDS - t0)) s (console: $h/harness.out)"
    check_stopped "$h" || say "WARNING: harness left a process running (stopped now)"
    [ "$rc" = 0 ] || { tail -20 "$h/harness.out" >&2; die "harness run '$name' failed"; }
    [ -s "$h/maillog" ] || die "no $h/maillog"
    echo "$((SECONDS - t0))" > "$h/make_samples.seconds"
}

collect() {
    local name
    for name in $RUNS; do
        mkdir -p "$OUT_DIR/$name"
        cp "$LAB_DIR/$name/maillog" "$OUT_DIR/$name/mail.log"
        chmod 644 "$OUT_DIR/$name/mail.log"
        if [ "$name" = amavis ]; then
            if [ -s "$LAB_DIR/amavis/amavis/home/amavis.log" ]; then
                cp "$LAB_DIR/amavis/amavis/home/amavis.log" "$OUT_DIR/amavis/amavis.log"
                chmod 644 "$OUT_DIR/amavis/amavis.log"
            else
                die "amavis run left no amavis/home/amavis.log (was port 10024 busy? see harness.out)"
            fi
        fi
    done
}

rotate() {
    [ -f "$OUT_DIR/postlog/mail.log" ] || die "rotate needs $OUT_DIR/postlog/mail.log"
    py rotate "$OUT_DIR/postlog/mail.log" "$OUT_DIR/rotated" > "$LAB_DIR/rotate.txt"
    cat "$LAB_DIR/rotate.txt" >&2
}

touch_all() {
    local files; mapfile -t files < <(all_logs)
    if [ "${#files[@]}" -gt 0 ]; then py touch "${files[@]}" >&2; fi
}

pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }

write_readme() {
    local r=$OUT_DIR/README.md files
    local when newest   # generation time = end of the last harness run, else now
    newest=$(ls -t "$LAB_DIR"/*/make_samples.seconds 2>/dev/null | head -1 || true)
    if [ -n "$newest" ]; then when=$(date -u -r "$newest" +%Y-%m-%dT%H:%M:%SZ); else when=$(date -u +%Y-%m-%dT%H:%M:%SZ); fi
    mapfile -t files < <(all_logs)
    {
cat <<EOF
# sample_logs: genuine Postfix output for end-to-end tests

Every line in these files was written by a real Postfix (and, in \`amavis/\`, a real
amavisd-new) while it handled real SMTP traffic on loopback. Nothing was typed, edited,
anonymised or re-ordered. The only processing is copying each log out of the lab, and
cutting \`postlog/mail.log\` into the \`rotated/\` series (byte-for-byte the same lines).

Generator: the postfix-lab harness (\`run_harness.sh\` in \`\$SHARED_DIR/postfix-lab\`, see its
README.md, REPORT.md and \`scenarios.json\` for what each client address does), driven by
\`sample_logs/make_samples.sh\`, which also wrote this README.

Generated $when on $(. /etc/os-release; echo "$PRETTY_NAME"), timezone $(date +%Z) (traditional
\`Mon DD HH:MM:SS\` stamps are local time of that machine), with:
postfix $(pkgver postfix) (\`mail_version = $(postconf -d -h mail_version 2>/dev/null || echo '?')\`),
rsyslog $(pkgver rsyslog), amavisd-new $(pkgver amavisd-new), spamassassin $(pkgver spamassassin),
swaks $(pkgver swaks), python3-dnslib $(pkgver python3-dnslib), sasl2-bin $(pkgver sasl2-bin).

## Files

| file | lines | bytes | first stamp | last stamp (= mtime) | programs | lines without stamp |
|---|---:|---:|---|---|---:|---:|
EOF
        py info "${files[@]}" | while IFS=$'\t' read -r p n b first last progs nostamp; do
            printf '| `%s` | %s | %s | `%s` | `%s` | %s | %s |\n' "${p#"$OUT_DIR"/}" "$n" "$b" "$first" "$last" "$progs" "$nostamp"
        done
cat <<EOF

(For \`.gz\` the line count is of the decompressed text.)

## How each file was produced

All runs: as root, \`LAB_DIR=<dir> bash run_harness.sh\` with the environment below, one after
the other (they share ports 2525-2530, 2626, 10024-10025 and the DNS address 127.0.53.53:53), watchdog
\`HARNESS_MAX_SECONDS=$HARNESS_MAX_SECONDS\`. Each run takes about 95-140 s, most of it
waiting for deferred mail to expire (maximal_queue_lifetime=40s) and for anvil statistics.

| file | harness environment | how the log is written | run took |
|---|---|---|---|
| \`postlog/mail.log\` | \`LOG_MODE=postlog WITH_AMAVIS=0\` (the defaults) | postlogd(8), \`maillog_file = \$LAB_DIR/maillog\`; \`Nov 27 18:23:29 mx postfix/...\` stamps, host = first label of \$myhostname (\`mx\`, \`sink\` for the loopback "remote MX"); the final \`master: terminating\` line is lost because postlogd stops first | $(cat "$LAB_DIR/postlog/make_samples.seconds" 2>/dev/null || echo '?') s |
| \`syslog/mail.log\` | \`LOG_MODE=syslog WITH_AMAVIS=0\` | the harness's own \`rsyslogd -n\` on \`/dev/log\` (only possible where /dev/log does not exist), Debian 12 default RFC 3339 format (\`2026-11-27T18:26:01.123456+00:00 $(hostname) postfix/...\`: the host field is the system hostname, \`$(hostname)\`, not \$myhostname); the harness's rsyslog.conf writes only \`mail.*\` to this file, so it holds no non-mail lines; unlike postlog it does get master's final \`terminating on signal 15\` | $(cat "$LAB_DIR/syslog/make_samples.seconds" 2>/dev/null || echo '?') s |
| \`amavis/mail.log\` | \`LOG_MODE=postlog WITH_AMAVIS=1\` | as postlog, plus the 127.0.0.1:2530 -> amavis :10024 -> :10025 content-filter path (\`postfix/amavis/smtp\`, \`postfix/10025/smtpd\`) | $(cat "$LAB_DIR/amavis/make_samples.seconds" 2>/dev/null || echo '?') s |
| \`amavis/amavis.log\` | same run | amavisd-new cannot write to postlogd, so it logs to its own \`\$LOGFILE\` (\`\$log_level = 0\`): \`Mon DD HH:MM:SS mx.example.com /usr/sbin/amavisd[pid]: (pid-nn) Passed CLEAN ...\` -- full host name and program path, no \`amavis[pid]:\` tag (that form only appears via syslog) | same run |
| \`rotated/*\` | cut from \`postlog/mail.log\` | see below | - |

## rotated/: postlog/mail.log as logrotate would leave it

\`mail.log.2.gz\` (oldest, gzip; header name \`mail.log.2\` and header mtime = its last line, as gzip(1)
leaves it), \`mail.log.1\` (plain, delaycompress), \`mail.log\` (newest). Concatenating
\`zcat mail.log.2.gz; cat mail.log.1 mail.log\` gives \`postlog/mail.log\` exactly. Cut points are chosen
near 1/3 and 2/3 of the lines, at second boundaries: every line before a cut has an earlier second
than every line after it, so no second is split across files (sessions and queue IDs are, on purpose).

| piece | lines | first stamp | last stamp | mtime |
|---|---:|---|---|---|
EOF
        grep -v '^cut' "$LAB_DIR/rotate.txt" | while IFS=$'\t' read -r name n first last mt; do
            printf '| `%s` | %s | `%s` | `%s` | %s |\n' "$name" "${n#lines=}" "${first#first=}" "${last#last=}" "${mt#mtime=}"
        done
        echo
        grep '^cut' "$LAB_DIR/rotate.txt" | while IFS=$'\t' read -r _ where stamps; do
            printf -- '- cut %s: `%s`\n' "$where" "$stamps"
        done
cat <<EOF

## mtimes

Each file's mtime is the timestamp of its own last line (logscope infers the year of
\`Mon DD\` stamps from the file's mtime). **git does not store mtimes**: after a checkout, run
\`sample_logs/make_samples.sh touch\` (no harness, no root needed) to set them again. For \`Mon DD\`
stamps the year is taken from \`syslog/mail.log\` (RFC 3339, same session), or \`SAMPLE_YEAR\`.

## Scenario checks (grep counts; what each client does is in postfix-lab/scenarios.json)

EOF
        verify 2>/dev/null || true
cat <<EOF

Known gaps (from postfix-lab/REPORT.md, not fixable on loopback): no
\`warning: service "smtp" ... has reached its process limit\` (master disables it for
loopback-only services), no amavis \`Blocked INFECTED\` (no ClamAV signatures offline), smtpd's
"too many connections" / "too much mail" / HELO-required texts exist only as client replies
(the log has the anvil warnings and \`disconnect ... commands=\` counters instead).
\`postfix/scache\` lines appear only in some runs.

Run-to-run variation (same traffic, so compare shapes, not exact counts): line totals differ by a
few lines between runs; \`postfix/scache\` statistics and smtpd's
\`improper command pipelining after CONNECT\` for the pregreet client (127.0.0.80) depend on timing;
queue IDs, pids, ports and times always differ. scenarios.json lists 127.0.0.14 and .16-.19 in
rbl.test, but the harness sends no traffic from them (RBL clients used: .2, .10, .11, .12, .13, .15).

## Regenerating

\`\`\`sh
# root on Debian 12 (bookworm). In a container, first keep package scripts from starting
# daemons: a distro amavisd already on :10024 makes the harness skip its amavis part.
[ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update
apt-get install -y postfix swaks python3-dnslib sasl2-bin openssl          # harness does this too
apt-get install -y --no-install-recommends rsyslog amavisd-new spamassassin
sample_logs/make_samples.sh           # as root; ~5 min; LAB_DIR, OUT_DIR, SHARED_DIR, RUNS overridable
sample_logs/make_samples.sh touch     # after a git checkout: re-apply mtimes only
# other modes: verify (scenario greps), rotate (re-cut rotated/), readme (rewrite this file)
\`\`\`
EOF
    } > "$r.tmp"
    mv "$r.tmp" "$r"
    say "wrote $r"
}

# ---------------------------------------------------------------- main --
case $MODE in
    touch)  touch_all; exit 0 ;;
    verify) verify; exit $? ;;
    rotate) mkdir -p "$LAB_DIR"; rotate; touch_all; exit 0 ;;
    readme) write_readme; exit 0 ;;    # uses $LAB_DIR/*/make_samples.seconds and rotate.txt
    all)    ;;
    *) die "unknown mode '$MODE' (all | touch | verify | rotate | readme)" ;;
esac

[ "$(id -u)" = 0 ] || die "the harness must run as root"
[ -f "$HARNESS" ] || die "no harness at $HARNESS (set SHARED_DIR)"
command -v python3 >/dev/null || die "python3 is required"
mkdir -p "$LAB_DIR" "$OUT_DIR"
had_devlog=0; [ -e /dev/log ] && had_devlog=1
if [[ " $RUNS " == *" syslog "* ]] && [ "$had_devlog" = 1 ]; then
    die "/dev/log exists: LOG_MODE=syslog cannot run here; use RUNS='postlog amavis'"
fi

for name in $RUNS; do
    case $name in
        postlog) run_one postlog LOG_MODE=postlog WITH_AMAVIS=0 ;;
        syslog)  run_one syslog  LOG_MODE=syslog  WITH_AMAVIS=0 ;;
        amavis)  run_one amavis  LOG_MODE=postlog WITH_AMAVIS=1 ;;
        *) die "unknown run '$name'" ;;
    esac
done
if [ "$had_devlog" = 0 ] && [ -e /dev/log ]; then say "WARNING: /dev/log was left behind by rsyslogd"; fi

collect
rotate
touch_all
write_readme
rc=0; verify > "$LAB_DIR/verify.md" || rc=$?
cat "$LAB_DIR/verify.md" >&2
[ "$rc" = 0 ] || die "$rc scenario check(s) missing"
say "done: $(all_logs | wc -l) files in $OUT_DIR"
