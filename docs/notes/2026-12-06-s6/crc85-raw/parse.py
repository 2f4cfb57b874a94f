import sys,re,statistics as st
rows=[]
for fn in sys.argv[1:]:
    cur=None
    for line in open(fn):
        m=re.match(r'### round (\d+) (\S+) (\S+) load (\S+)',line)
        if m: cur=m.groups(); el={}; continue
        f=line.split()
        if cur and len(f)>=16 and f[0] in('eventloop','raw','gonet'):
            # stack mode size conns depth msgs msgs/s spread MB/s p50 p99 p999 CPU allocs gor RSS steal
            key=(f[2],f[3],f[4])
            def num(x):
                x=x.replace('k','e3') if x.endswith('k') else x
                return float(x)
            d=dict(msgs=num(f[6]),p50=f[9],p99=f[10],cpu=float(f[12]),steal=f[16])
            if f[0]=='eventloop': el[key]=d
            elif f[0]=='raw' and key in el:
                e=el[key]; rows.append((cur[1],key,int(cur[0]),cur[2],cur[3],e,d))
            elif f[0]=='raw':
                pass
def us(x):
    if x.endswith('ms'): return float(x[:-2])*1000
    if x.endswith('µs'): return float(x[:-2])
    if x.endswith('s'): return float(x[:-1])*1e6
    return float(x)
print('| variant | case | round | time | load | el msgs/s | raw msgs/s | % raw | el CPU-s/1k | raw CPU-s/1k | CPU ratio | p50/p99 | p99/p50 | steal el/raw |')
print('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
for v,k,r,t,l,e,d in sorted(rows,key=lambda x:(x[1],x[2],x[3])):
    print(f"| {v} | {' '.join(k)} | {r} | {t} | {l} | {e['msgs']:.0f} | {d['msgs']:.0f} | {100*e['msgs']/d['msgs']:.0f}% | {e['cpu']:.4f} | {d['cpu']:.4f} | {e['cpu']/d['cpu']:.2f} | {e['p50']}/{e['p99']} | {us(e['p99'])/us(e['p50']):.1f} | {e['steal']}/{d['steal']} |")
print()
print('| variant | case | runs | % raw each | median | el CPU-s/1k each | median | CPU ratio median | p99/p50 each |')
print('|---|---|---|---|---|---|---|---|---|')
groups={}
for v,k,r,t,l,e,d in rows: groups.setdefault((k,v),[]).append((e,d))
for (k,v),lst in sorted(groups.items()):
    pr=[100*e['msgs']/d['msgs'] for e,d in lst]; cpu=[e['cpu'] for e,d in lst]; cr=[e['cpu']/d['cpu'] for e,d in lst]
    pp=[us(e['p99'])/us(e['p50']) for e,d in lst]
    print(f"| {v} | {' '.join(k)} | {len(lst)} | {', '.join('%.0f'%x for x in pr)} | {st.median(pr):.0f}% | {', '.join('%.3f'%x for x in cpu)} | {st.median(cpu):.3f} | {st.median(cr):.2f} | {', '.join('%.1f'%x for x in pp)} |")
