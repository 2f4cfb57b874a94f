import re, sys, statistics as st, subprocess
# agg.py FILE...: medians over every ab-bench.sh "depth D" run in FILEs, per case and build: % of raw, CPU/raw, p99/p50.
def dur(x):
    m = re.match(r'([\d.]+)(µs|ms|s)', x); return float(m.group(1)) * {'µs': 1e-3, 'ms': 1, 's': 1e3}[m.group(2)]
rows = {}
for fn in sys.argv[1:]:
    for b in re.split(r'^### ', open(fn).read(), flags=re.M)[1:]:
        m = re.match(r'round (\d) (\w+) depth (\d) (\S+) load (\S+)', b.split('\n', 1)[0])
        if not m:
            continue
        r, build, d, t, load = m.groups()
        raw, el = {}, {}
        for line in b.split('\n'):
            f = line.split()
            if len(f) >= 17 and f[0] in ('eventloop', 'raw'):
                (raw if f[0] == 'raw' else el)[(f[2], f[3])] = f
        for k, f in el.items():
            w = raw[k]
            rows.setdefault((k[0], k[1], d, build), []).append((float(f[8]) / float(w[8]) * 100, float(f[12]) / float(w[12]), dur(f[10]) / dur(f[9]), float(load)))
for k in sorted(rows):
    v = rows[k]
    print('%-4s x%s d%s %-3s n=%2d  %%raw %3.0f  cpu/raw %.2f  p99/p50 %5.1f  (load %.1f-%.1f)' % (k + (len(v), st.median(x[0] for x in v), st.median(x[1] for x in v), st.median(x[2] for x in v), min(x[3] for x in v), max(x[3] for x in v))))
