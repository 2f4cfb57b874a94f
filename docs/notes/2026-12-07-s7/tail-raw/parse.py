import sys,re,collections
def us(x):
    if x.endswith('ms'): return float(x[:-2])*1000
    if x.endswith('µs'): return float(x[:-2])
    if x.endswith('s'): return float(x[:-1])*1e6
    return float(x)
def rate(x):
    return float(x[:-1])*1000 if x.endswith('k') else float(x)
rows=[]
for l in open(sys.argv[1]):
    pre,post=l.split('|',1)
    p=pre.split(); f=post.split()
    r,b=p[0],p[1]; load=p[3].rstrip(','); other=p[p.index('other')+1]
    stack,mode,size,conns,depth=f[0:5]
    d=dict(r=r,b=b,load=load,other=other,stack=stack,case=f"{size} x{conns} d{depth}",rate=rate(f[6]),p50=us(f[9]),p99=us(f[10]),p999=us(f[11]),cpu=float(f[12]),steal=f[16],runq=f[17],idle=f[18])
    rows.append(d)
raw={}
for d in rows:
    if d['stack']=='raw': raw[(d['r'],d['b'],d['case'])]=d
def fmt(v):
    return f"{v/1000:.2f}ms" if v>=1000 else f"{v:.0f}µs"
print("| round | build | load | other | case | msgs/s | % raw | p50 | p99 | p999 | p99/p50 | CPUs/1k (÷raw) | runq | idleP | steal |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for d in rows:
    if d['stack']=='raw': continue
    rw=raw.get((d['r'],d['b'],d['case']))
    pr=f"{100*d['rate']/rw['rate']:.0f}%" if rw else "-"
    cr=f"{d['cpu']:.4f} ({d['cpu']/rw['cpu']:.2f})" if rw else f"{d['cpu']:.4f}"
    st=d['stack'] if d['stack']!='eventloop' else ''
    print(f"| {d['r']} | {d['b']} | {d['load']} | {d['other']} | {st+' ' if st else ''}{d['case']} | {d['rate']/1000:.1f}k | {pr} | {fmt(d['p50'])} | {fmt(d['p99'])} | {fmt(d['p999'])} | **{d['p99']/d['p50']:.1f}** | {cr} | {d['runq']} | {d['idle']} | {d['steal']} |")
