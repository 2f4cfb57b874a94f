import sys, subprocess, re, collections
def traces(path):
    out = subprocess.run(["go","tool","pprof","-traces",path],capture_output=True,text=True).stdout
    blocks = out.split("-----------+-------------------------------------------------------")
    for b in blocks[1:]:
        lines=[l for l in b.strip("\n").split("\n") if l.strip()]
        if not lines: continue
        m=re.match(r"\s*([\d.]+)(ms|s|us)\s+(.*)",lines[0])
        if not m: continue
        v=float(m.group(1))*{"ms":1e-3,"s":1,"us":1e-6}[m.group(2)]
        frames=[m.group(3).strip()]+[l.strip() for l in lines[1:]]
        yield v,frames
def classify(fr):
    leaf=fr[0]; s=" ".join(fr)
    if "Syscall6" in leaf or "RawSyscall" in leaf or leaf.startswith("syscall.") :
        if "sock.writev" in s or "Writev" in s: return "sys writev"
        if "sock.read" in s or "poll.(*FD).Read" in s or "syscall.read" in s: return "sys read"
        if "runtime.netpoll" in s: return "sys netpoll epoll_wait"
        if "unix.EpollWait" in s or "EpollWait" in s: return "sys inner epoll_wait"
        if "futex" in s: return "sys futex"
        return "sys other"
    if "runtime.netpoll" in s: return "sched netpoll(user part)"
    if "gcBgMarkWorker" in s or "gcDrain" in s or "bgsweep" in s or "scavenge" in s: return "gc background"
    if "mallocgc" in s or "newobject" in s or "makeslice" in s or "growslice" in s: return "alloc"
    if any(x in s for x in ("runtime.schedule","runtime.findRunnable","runtime.park_m","runtime.mcall","runtime.goready","runtime.ready","exitsyscall","entersyscall","runtime.wakep","runtime.notewakeup","runtime.futex","runtime.usleep","runtime.sysmon")): return "sched"
    if "asyncPreempt" in leaf: return "user (preempt)"
    if "sync.(*Pool)" in s: return "sync.Pool"
    if "Mutex" in leaf or "atomic" in leaf: return "locks/atomics"
    if "crc32" in s or "foldAVX" in s or "CRC32C" in s: return "crc"
    if "memmove" in leaf or "memclr" in leaf: return "memmove/clr"
    if "time.Now" in s or "nanotime" in s or "runtimeNow" in s: return "clock"
    return "user other"
def fnlevel(fr):
    # first frame from our module
    for f in fr:
        if "gomsgr/msgr" in f: return f.replace("github.com/gomsgr/msgr","m")
    return fr[0]
def main():
    for path in sys.argv[1:]:
      c=collections.Counter(); tot=0; users=collections.Counter()
      for v,fr in traces(path):
          k=classify(fr); c[k]+=v; tot+=v
          if not k.startswith("sys") and not k.startswith("sched") and not k.startswith("gc"):
              users[fnlevel(fr)]+=v
      print("==",path,"total %.2fs"%tot)
      for k,v in sorted(c.items(),key=lambda x:-x[1]): print("  %-28s %5.1f%%"%(k,100*v/tot))
      if "-u" in sys.argv[0:1] or True:
          print("  -- user by our innermost function (top 25)")
          for k,v in users.most_common(25): print("    %5.2f%%  %s"%(100*v/tot,k))

if __name__=='__main__': main()
