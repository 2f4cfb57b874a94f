#!/usr/bin/env python3
"""sum.py FILE...: abenv.sh lines grouped by variant and case, quiet (other < 0.3) and busy."""
import re, sys, statistics as st

def us(x):
    for suf, m in (('ms', 1000), ('µs', 1), ('s', 1e6)):
        if x.endswith(suf):
            return float(x[:-len(suf)]) * m
    return float(x)

rows = []
for fn in sys.argv[1:]:
    for l in open(fn):
        m = re.match(r'r(\d+) (\S+) (\S+) x(\d+) d(\d+) load (\S+) other (\S+) \| (\d+)% cpu/raw (\S+) \|.*?: (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) \| raw: (\S+) (\S+) \| kw (\d+) avg (\S+) \| park (\d+) avg (\S+) \| ctxsw vol (\d+) invol (\d+)', l)
        if not m:
            continue
        g = m.groups()
        rows.append(dict(r=g[0], v=g[1], case=f'{g[2]} x{g[3]} d{g[4]}', load=float(g[5]), other=float(g[6]), pct=int(g[7]), cpur=float(g[8]), msgs=float(g[9][:-1])*1000 if g[9].endswith('k') else float(g[9]), kw=int(g[19]), park=int(g[21]), vol=int(g[23]), invol=int(g[24]), p99=g[12], p50=g[11]))
for quiet in (True, False):
    print('quiet (other < 0.3)' if quiet else 'busy (other >= 0.3)')
    keys = sorted({(r['case'], r['v']) for r in rows})
    for k in keys:
        rs = [r for r in rows if (r['case'], r['v']) == k and (r['other'] < 0.3) == quiet]
        if not rs:
            continue
        ratio = st.median(us(r['p99']) / us(r['p50']) for r in rs)
        print(f"  {k[0]:12} {k[1]:6} n={len(rs)} msgs/s {st.median(r['msgs'] for r in rs):.0f} p99/p50 {ratio:.1f} p99 {' '.join(r['p99'] for r in rs)}")
        print(f"  {'':12} {'':6} %raw median {st.median(r['pct'] for r in rs):.0f} [{' '.join(str(r['pct']) for r in rs)}] cpu/raw median {st.median(r['cpur'] for r in rs):.2f} [{' '.join('%.2f' % r['cpur'] for r in rs)}]  kw/msg {st.median(r['kw']/max(r['msgs']*2,1) for r in rs):.2f} vol/msg {st.median(r['vol']/max(r['msgs']*2,1) for r in rs):.2f} invol/msg {st.median(r['invol']/max(r['msgs']*2,1) for r in rs):.2f}")
