import re,statistics as st,sys
# Medians per case and build from parse-big.py's output (docs/notes/2026-12-06-s6/parse-big.py):
#   python3 parse-big.py big-bench.txt > big-bench-parsed.txt; python3 median-big.py big-bench-parsed.txt
rows={}
for l in open(sys.argv[1]):
    head,rest=l.split('|',1)
    k=tuple(head.split())
    for m in re.finditer(r'r(\d) (\w+) L(\S+) (\d+)% cpu(\S+) t(\S+)',rest):
        r,b,load,pct,cpu,t=m.groups()
        rows.setdefault((k,b),[]).append((int(pct),float(cpu),float(t)))
for k in sorted(set(k for k,b in rows)):
    out=[]
    for b in ('old','new'):
        v=rows[(k,b)]
        out.append('%s %s (%d%%) cpu %.2f t %.1f'%(b,'/'.join(str(x[0]) for x in v),st.median(x[0] for x in v),st.median(x[1] for x in v),st.median(x[2] for x in v)))
    print('%-22s'%' '.join(k),' | '.join(out))
