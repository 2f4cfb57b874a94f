import re, sys, statistics as st
# pstat.sh lines: medians per binary and case of msgs/s and the per-message counts.
rows = {}
for fn in sys.argv[1:]:
    for l in open(fn):
        m = re.match(r'r\d+ (\S+) (\S+ x\d+ d\d+) load (\S+) \| .*?: (\S+) .*\| per msg: (.*)', l)
        if not m:
            continue
        b, case, load, msgs, cnt = m.groups()
        msgs = float(msgs[:-1]) * 1000 if msgs.endswith('k') else float(msgs)
        d = dict(zip(cnt.split()[0::2], map(float, cnt.split()[1::2])))
        d['msgs/s'] = msgs
        d['load'] = float(load)
        rows.setdefault((case, b), []).append(d)
keys = ['msgs/s', 'task-clock', 'context-switches', 'futex', 'nanosleep', 'epoll_pwait', 'load']
print('%-14s %-16s %s' % ('case', 'binary', '  '.join(keys)), '(medians; task-clock ms per msg, others per msg)')
for (case, b), ds in sorted(rows.items()):
    print('%-14s %-16s n=%d %s' % (case, b, len(ds), '  '.join('%s %s' % (k, ('%.3g' % st.median(d[k] for d in ds))) for k in keys)))
