import sys,re,subprocess
for arg in sys.argv[1:]:
    p,n=arg.split(':'); n=int(n)
    out=subprocess.run(['python3','/tmp/cpuwork/cat.py',p+'.pprof'],capture_output=True,text=True).stdout
    lines=out.split('\n')
    tot=float(re.search(r'total ([\d.]+)s',lines[0]).group(1))
    agg={}
    for l in lines[1:]:
        if '--' in l: break
        m=re.match(r'\s+(.+?)\s+([\d.]+)%$',l)
        if not m: continue
        k=m.group(1).strip(); v=float(m.group(2))
        g='kernel' if k.startswith('sys') else ('sched' if k.startswith('sched') else ('gc+alloc' if k in ('gc background','alloc') else 'user'))
        agg[g]=agg.get(g,0)+v
    u=tot/n*1e6
    print('| %s | %.2f | %s |'%(p, u, ' | '.join('%.2f'%(u*agg.get(k,0)/100) for k in ('kernel','sched','gc+alloc','user'))))
