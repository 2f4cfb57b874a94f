import sys,re,collections
pat=re.compile(r'M=(-?\d+) P=(-?\d+) G=(-?\d+) StateTransition Time=(\d+) (?:GoID=(\d+)|ProcID=(\d+)) (\w+)->(\w+) Reason="([^"]*)"')
ev=[m.groups() for m in map(pat.match,open(sys.argv[1])) if m]
gcount=collections.Counter(e[4] for e in ev if e[4] and e[8]=="network")
loops=[g for g,_ in gcount.most_common(2)]
t0=int(ev[0][3])
last={}
dur=collections.defaultdict(lambda: collections.defaultdict(list))
for M,P,G,T,gid,pid,a,b,r in ev:
    if gid not in loops: continue
    T=int(T)
    if gid in last:
        st,t=last[gid]
        dur[gid][st].append((T-t,(t-t0)/1e6))
    last[gid]=(b,T)
for g in loops:
    for st,L in dur[g].items():
        v=sorted(x[0] for x in L); n=len(v)
        print(g,st,n,"sum %.1fms p50 %.1fus p99 %.1fus max %.2fms"%(sum(v)/1e6,v[n//2]/1e3,v[n*99//100]/1e3,v[-1]/1e6))
        print("    longest:", ["%.2fms@%.1f"%(d/1e6,t) for d,t in sorted(L)[-6:]])
