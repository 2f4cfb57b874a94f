import re, sys
# table.py FILE...: every eventloop/gonet run of ab-bench.sh files as a markdown table (with % of raw and CPU/raw where a raw run of the same case exists).
def dur(x):
    m = re.match(r'([\d.]+)(µs|ms|s)', x); return float(m.group(1)) * {'µs': 1e-3, 'ms': 1, 's': 1e3}[m.group(2)]
for fn in sys.argv[1:]:
    print(f'\n#### {fn}\n')
    print('| round | build | label | time | load | stack | case | msgs/s | % raw | CPUs/1k (÷raw) | p50 | p99 | p99/p50 | steal | runq | idleP |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    for b in re.split(r'^### ', open(fn).read(), flags=re.M)[1:]:
        m = re.match(r'round (\d) (\w+) (.+?) (\d\d:\d\d:\d\d) load (\S+)', b.split('\n', 1)[0])
        r, build, label, t, load = m.groups()
        raw, rows = {}, []
        for line in b.split('\n'):
            f = line.split()
            if len(f) >= 17 and f[0] in ('eventloop', 'gonet', 'raw'):
                if f[0] == 'raw':
                    raw[(f[2], f[3], f[4])] = f
                else:
                    rows.append(f)
        for f in rows:
            w = raw.get((f[2], f[3], f[4]))
            pct = '%.0f%%' % (float(f[8]) / float(w[8]) * 100) if w else '-'
            cpu = '%s (%.2f)' % (f[12], float(f[12]) / float(w[12])) if w else f[12]
            print(f'| {r} | {build} | {label} | {t} | {load} | {f[0]} | {f[2]} x{f[3]} d{f[4]} | {f[6]} | {pct} | {cpu} | {f[9]} | {f[10]} | {dur(f[10])/dur(f[9]):.1f} | {f[16]} | {f[17]} | {f[18]} |')
