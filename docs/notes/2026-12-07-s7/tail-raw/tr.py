import sys,re,collections
pat=re.compile(r'M=(-?\d+) P=(-?\d+) G=(-?\d+) StateTransition Time=(\d+) (?:GoID=(\d+)|ProcID=(\d+)) (\w+)->(\w+) Reason="([^"]*)"')
ev=[]
for l in open(sys.argv[1]):
    m=pat.match(l)
    if m: ev.append(m.groups())
gcount=collections.Counter(e[4] for e in ev if e[4] and e[8]=="network")
loops=[g for g,_ in gcount.most_common(2)]
print("loops",loops,gcount.most_common(4))
t0=int(ev[0][3])
# per loop goroutine: runnable->running latency, who readied
state={}
lat=collections.defaultdict(list)
readier=collections.Counter()
mrun=collections.Counter()
syscall=collections.Counter()
for M,P,G,T,gid,pid,a,b,r in ev:
    T=int(T)
    if gid is None: continue
    if b=="Runnable":
        state[gid]=(T,M,G,r)
        if gid in loops: readier[(gid, "selfG" if G==gid else ("G"+G if G!="-1" else "noG"), a)]+=1
    if a=="Runnable" and b=="Running" and gid in state:
        t,rm,rg,rr=state.pop(gid)
        if gid in loops:
            lat[gid].append((T-t, rm, M, rr, (t-t0)/1e6))
            mrun[(gid,M)]+=1
    if b=="Syscall": syscall[gid]+=1
for g in loops:
    L=sorted(x[0] for x in lat[g])
    n=len(L)
    print("G",g,"wakes",n,"p50 %.1fus p90 %.1fus p99 %.1fus max %.1fus"%(L[n//2]/1e3,L[n*9//10]/1e3,L[n*99//100]/1e3,L[-1]/1e3))
    big=[x for x in lat[g] if x[0]>500e3]
    for x in big[:12]: print("   wait %.2fms readiedOnM %s runOnM %s reason %r at %.2fms"%(x[0]/1e6,x[1],x[2],x[3],x[4]))
    print("   sameM", sum(1 for x in lat[g] if x[1]==x[2]), "otherM", sum(1 for x in lat[g] if x[1]!=x[2]))
print("readier",readier.most_common(10))
print("run on M",sorted(mrun.items()))
print("syscall by G",syscall.most_common(5))
