#!/usr/bin/python3
"""Record what the real ceph CLI sends to a mon for each line of commands.in.

usage: capture-commands.py CONF MONLOG < commands.in > commands.jsonl

Each command runs as `ceph --verbose -c CONF WORDS` against a throwaway cluster (it changes
state). Output, one JSON object per command:
  args     the words
  rc       the CLI's exit code (-1: killed after 20 s, e.g. a mgr command with no mgr)
  json     json.dumps of the dict the CLI printed as "Submitting command:" (exactly what
           ceph_argparse.json_command serialises and sends), or "" if validation failed
  audit    the command strings the mon's audit log shows it received (redacted commands
           such as "config set" are logged without their JSON and do not appear)
  stderr   the CLI's last line of stderr that is not --verbose tracing
"""
import ast, json, re, shlex, subprocess, sys, time

conf, monlog = sys.argv[1], sys.argv[2]
pat = re.compile(r"cmd=\[(.*)\]: dispatch$")

def size():
    with open(monlog, 'rb') as f:
        return f.seek(0, 2)

for line in sys.stdin:
    line = line.strip()
    if not line or line.startswith('#'):
        continue
    args = shlex.split(line)
    start = size()
    cmd = ['ceph', '--verbose', '-c', conf, '--connect-timeout', '10'] + args
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        rc, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired as e:
        rc = -1
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or '')
    time.sleep(0.3)  # the mon's log thread writes asynchronously
    audit = []
    with open(monlog, 'rb') as f:
        f.seek(start)
        for raw in f.read().decode('utf-8', 'replace').splitlines():
            m = pat.search(raw)
            if "log_channel(audit)" in raw and m and 'get_command_descriptions' not in m.group(1):
                audit.append(m.group(1))
    sent, last = "", ""
    for l in err.splitlines():
        if l.startswith('Submitting command:'):
            sent = json.dumps(ast.literal_eval(l.split(':', 1)[1].strip()))
        elif l.strip() and not l.startswith(('better match', 'bestcmds', 'validate_command',
                                             ' ', '[', '{', 'Not enough args', 'Submitting')):
            last = l.strip()
    print(json.dumps({"args": args, "rc": rc, "json": sent, "audit": audit, "stderr": last}))
    sys.stdout.flush()
