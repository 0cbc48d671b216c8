#!/usr/bin/env bash
# lab.sh - run the postfix-lab (../shared/postfix-lab/run_harness.sh) fresh, for tests/test_lab.py.
#
# As root on Debian with ../shared present: installs the lab's packages, runs a real Postfix 3.7 on
# loopback and collects its logs into a new directory laid out as tests/test_lab.py expects:
#     <dir>/postlog/mail.log                 always (postlogd maillog_file, "Mon DD" stamps)
#     <dir>/amavis/mail.log, amavis.log      WITH_AMAVIS=1, when it fits the time budget
#     <dir>/syslog/mail.log                  LOG_MODE=syslog, only where /dev/log does not exist
# and prints <dir> on stdout (the only thing on stdout); progress goes to stderr.
# Elsewhere (not root, no ../shared, no apt, packages not installable, lab ports busy) it prints
# "SKIP: fresh Postfix lab run (reason)" on stderr and exits 0 with nothing on stdout.
# Exit 1 when the lab itself failed (the postlog run produced no log).
#
# Bounded: each harness run has the harness's own watchdog (HARNESS_MAX_SECONDS) inside
# `timeout`, a run starts only if it fits LAB_BUDGET_SECONDS, and a watchdog stops this script
# (and the run it started) at LAB_MAX_SECONDS. After every run, anything the harness started
# (Postfix master, dnsd, rsyslogd, amavisd, by their pid files) is stopped.
#
# env: SHARED_DIR (default <repo>/../shared), LAB_OUT (default: mktemp -d /tmp/logscope-lab.XXXXXX),
#      LAB_RUNS (default "postlog amavis syslog"), LAB_BUDGET_SECONDS (900), LAB_MAX_SECONDS (1200),
#      HARNESS_MAX_SECONDS (300), LOGSCOPE_SKIP_LAB=1 to skip, LAB_APT_UPDATED=1 (caller ran apt-get update)
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED_DIR=${SHARED_DIR:-$REPO/../shared}
HARNESS=$SHARED_DIR/postfix-lab/run_harness.sh
RUNS=${LAB_RUNS:-postlog amavis syslog}
BUDGET=${LAB_BUDGET_SECONDS:-900}
MAX=${LAB_MAX_SECONDS:-1200}
export HARNESS_MAX_SECONDS=${HARNESS_MAX_SECONDS:-300}
T0=$SECONDS

say() { printf '[lab %4ds] %s\n' "$((SECONDS - T0))" "$*" >&2; }
skip() { printf 'SKIP: fresh Postfix lab run (%s)\n' "$*" >&2; exit 0; }

[ "${LOGSCOPE_SKIP_LAB:-0}" = 1 ] && skip "LOGSCOPE_SKIP_LAB=1"
[ "$(id -u)" = 0 ] || skip "not root: the lab runs Postfix, binds 127.0.53.53:53 and installs packages"
[ -f "$HARNESS" ] || skip "no $HARNESS (../shared is absent)"
command -v apt-get >/dev/null && command -v dpkg >/dev/null || skip "no apt-get/dpkg: the lab needs Debian"

port_busy() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# ---------------------------------------------------------------- watchdog --
# stops this script when LAB_MAX_SECONDS are up; the EXIT trap then stops what the run started
# (no pgrep needed to end it: its own trap stops its sleep)
(
    trap 'kill "$sp" 2>/dev/null; exit 0' TERM
    sleep "$MAX" & sp=$!
    wait "$sp" 2>/dev/null && { echo "[lab] watchdog: LAB_MAX_SECONDS=$MAX exceeded, stopping the lab" >&2; kill -TERM $$; }
) &
WATCHDOG=$!
CURRENT=""          # state dir of the run in progress
HARNESS_PID=""      # its `timeout` process
MADE_POLICY=0
RAN_SYSLOG=0        # a LOG_MODE=syslog run was started here (its rsyslogd makes /dev/log)
stop_started() {    # stop_started <state dir>: whatever the harness left running there
    local h=$1 f p
    for f in "$h/amavis/home/amavisd.pid" "$h/spool/pid/master.pid" "$h/run/dnsd.pid" "$h/run/rsyslogd.pid"; do
        p=$(tr -d ' \n' 2>/dev/null < "$f")
        if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
            say "stopping pid $p left by the harness ($f)"
            kill -TERM "$p" 2>/dev/null
            for _ in $(seq 1 25); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
            kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
        fi
    done
}
cleanup() {
    trap - EXIT INT TERM
    if [ -n "$HARNESS_PID" ] && kill -0 "$HARNESS_PID" 2>/dev/null; then
        kill -TERM "$HARNESS_PID" 2>/dev/null; wait "$HARNESS_PID" 2>/dev/null
    fi
    [ -n "$CURRENT" ] && stop_started "$CURRENT"
    # /dev/log did not exist before that run and its rsyslogd is stopped: a socket left now is stale
    if [ "$RAN_SYSLOG" = 1 ] && [ -S /dev/log ]; then say "removing /dev/log left by the lab's rsyslogd"; rm -f /dev/log; fi
    [ "$MADE_POLICY" = 1 ] && rm -f /usr/sbin/policy-rc.d
    kill -TERM "$WATCHDOG" 2>/dev/null; wait "$WATCHDOG" 2>/dev/null
}
trap cleanup EXIT
trap 'say "FAILED: interrupted, stopping what the lab started"; exit 1' INT TERM

# ---------------------------------------------------------------- packages --
# keep package scripts from starting daemons (a distro amavisd on :10024 or postfix on :25)
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && MADE_POLICY=1
fi
# procps: the harness ends its own watchdog with pgrep (without it, its exit waits out the watchdog)
BASE="postfix swaks python3-dnslib sasl2-bin openssl procps"
EXTRA="rsyslog amavisd-new spamassassin"
missing=""; for p in $BASE $EXTRA; do installed "$p" || missing="$missing $p"; done
if [ -n "$missing" ]; then
    say "installing:$missing"
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    echo "postfix postfix/mailname string mx.example.com" | debconf-set-selections
    export DEBIAN_FRONTEND=noninteractive
    [ "${LAB_APT_UPDATED:-0}" = 1 ] || timeout 300 apt-get update -qq >&2 || say "apt-get update failed"
    ti=$SECONDS
    timeout 600 apt-get install -y -q -o Dpkg::Options::=--force-confold $BASE >/tmp/lab-apt.$$.log 2>&1 \
        || { tail -5 /tmp/lab-apt.$$.log >&2; skip "apt-get install $BASE failed"; }
    timeout 600 apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold $EXTRA >>/tmp/lab-apt.$$.log 2>&1 \
        || { tail -5 /tmp/lab-apt.$$.log >&2; say "apt-get install $EXTRA failed: no amavis/syslog runs"; RUNS=postlog; }
    rm -f /tmp/lab-apt.$$.log
    say "packages installed in $((SECONDS - ti)) s"
fi
for p in $BASE; do installed "$p" || skip "package $p is not installed"; done

# ------------------------------------------------------------------- runs --
for _ in $(seq 1 60); do port_busy 127.0.0.1 2525 || break; sleep 5; done
port_busy 127.0.0.1 2525 && skip "127.0.0.1:2525 is in use (another lab run?)"

OUT=${LAB_OUT:-$(mktemp -d /tmp/logscope-lab.XXXXXX)}
mkdir -p "$OUT/logs" "$OUT/state"
chmod 755 "$OUT" "$OUT/logs" "$OUT/state"   # local(8) delivers into the state dir as alice/bob
say "lab output in $OUT (logs/ for the tests, state/ for the harness)"

run_one() {   # run_one <name> <env assignments...>; returns the harness's status
    local name=$1; shift
    local h=$OUT/state/$name rc=0 t0=$SECONDS
    mkdir -p "$h"
    CURRENT=$h
    say "harness run '$name' ($*), watchdog ${HARNESS_MAX_SECONDS}s"
    env "$@" SKIP_INSTALL=1 LAB_DIR="$h" timeout -k 30 $((HARNESS_MAX_SECONDS + 60)) bash "$HARNESS" > "$h/harness.out" 2>&1 &
    HARNESS_PID=$!
    wait "$HARNESS_PID" || rc=$?
    HARNESS_PID=""
    stop_started "$h"
    CURRENT=""
    echo "$name $((SECONDS - t0))" >> "$OUT/logs/run_seconds.txt"
    say "harness run '$name' exited $rc after $((SECONDS - t0)) s (console: $h/harness.out)"
    [ "$rc" = 0 ] || tail -15 "$h/harness.out" >&2
    return "$rc"
}

collect() {   # collect <name> <file in state dir> <name in logs dir>
    local src=$OUT/state/$1/$2
    [ -s "$src" ] || { say "run '$1' left no $2"; return 1; }
    mkdir -p "$OUT/logs/$1"
    cp -p "$src" "$OUT/logs/$1/$3"   # -p: the mtime anchors logscope's year inference
    chmod 644 "$OUT/logs/$1/$3"       # amavis.log is amavis's, mode 640
}

ok=0
for name in $RUNS; do
    left=$((BUDGET - (SECONDS - T0)))
    if [ "$name" != postlog ] && [ "$left" -lt $((HARNESS_MAX_SECONDS / 2 + 60)) ]; then
        say "skipping the $name run: ${left}s left of LAB_BUDGET_SECONDS=$BUDGET"; continue
    fi
    case $name in
        postlog)
            run_one postlog LOG_MODE=postlog WITH_AMAVIS=0 && collect postlog maillog mail.log && ok=1 ;;
        amavis)
            installed amavisd-new && installed spamassassin || { say "amavisd-new not installed: no amavis run"; continue; }
            port_busy 127.0.0.1 10024 && { say "127.0.0.1:10024 is in use: no amavis run"; continue; }
            if run_one amavis LOG_MODE=postlog WITH_AMAVIS=1 && grep -q 'amavis/smtp' "$OUT/state/amavis/maillog" 2>/dev/null; then
                collect amavis maillog mail.log && collect amavis amavis/home/amavis.log amavis.log \
                    || rm -rf "$OUT/logs/amavis"
            else
                say "amavis run failed or had no amavis traffic: not used"
            fi ;;
        syslog)
            [ -e /dev/log ] && { say "/dev/log exists (journald or a syslogd): no LOG_MODE=syslog run here"; continue; }
            installed rsyslog || { say "rsyslog not installed: no syslog run"; continue; }
            RAN_SYSLOG=1
            run_one syslog LOG_MODE=syslog WITH_AMAVIS=0 && collect syslog maillog mail.log \
                || say "syslog run failed: not used" ;;
        *) say "unknown run '$name'" ;;
    esac
done

for h in "$OUT"/state/*/; do stop_started "${h%/}"; done
for port in 2525 2526 2527 2528 2529 2530 2626 10024 10025; do
    port_busy 127.0.0.1 "$port" && say "WARNING: 127.0.0.1:$port still answers after the lab"
done
[ "$ok" = 1 ] || { say "FAILED: the postlog run produced no log"; exit 1; }
say "done in $((SECONDS - T0)) s: $(cd "$OUT/logs" && ls -d */ | tr -d / | tr '\n' ' ')"
echo "$OUT/logs"
