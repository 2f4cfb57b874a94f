package rados_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/gomsgr/msgr/rados"
)

// sharedIO opens the cluster's pool "msgr" and returns a unique object
// name prefix; the objects made under it are removed at the end.
func sharedIO(t *testing.T) (string, *Conn, *IOContext, string) {
	t.Helper()
	conf := clusterConf(t)
	c := connect(t, conf)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	io, err := c.OpenIOContext(ctx, "msgr")
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("%s-%d-", t.Name(), time.Now().UnixNano())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		io.ListObjects(ctx, func(oid string) {
			if strings.HasPrefix(oid, prefix) {
				io.Delete(ctx, oid)
			}
		})
	})
	return conf, c, io, prefix
}

func TestInteropWriteOp(t *testing.T) {
	conf, _, io, p := sharedIO(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	oid := p + "obj"

	// One compound write: create, write, xattr, omap, alloc hint, mtime.
	mtime := time.Date(2020, 5, 17, 10, 11, 12, 0, time.UTC)
	w := CreateWriteOp()
	w.Create(CreateExclusive)
	w.SetAllocationHint(1<<20, 4096, AllocHintSequentialWrite|AllocHintCompressible)
	w.WriteFull([]byte("hello world"))
	w.SetXattr("ax", []byte("xv"))
	w.SetOmap(map[string][]byte{"k1": []byte("v1"), "k2": []byte("v2")})
	if err := w.OperateWithMtime(ctx, io, oid, mtime, OperationNoFlag); err != nil {
		t.Fatal(err)
	}
	v1, _ := io.GetLastVersion()
	if v1 == 0 {
		t.Fatal("no version after a write")
	}
	out, _, code := realRados(t, conf, nil, "-p", "msgr", "stat", oid)
	m := statLine.FindStringSubmatch(out)
	if code != 0 || m == nil || m[3] != "11" {
		t.Fatalf("rados stat: %q", out)
	}
	st, err := io.Stat(ctx, oid)
	if err != nil || !st.ModTime.Equal(mtime) {
		t.Fatalf("mtime %v, want %v (%v)", st.ModTime, mtime, err)
	}
	if want := mtime.Local().Format("2006-01-02T15:04:05.000000-0700"); m[2] != want {
		t.Fatalf("rados stat mtime %s, want %s", m[2], want)
	}
	if v, _, _ := realRados(t, conf, nil, "-p", "msgr", "getomapval", oid, "k2", "/dev/stdout"); !strings.Contains(v, "v2") {
		t.Fatalf("rados getomapval: %q", v)
	}

	// Exclusive create of an existing object fails the whole op: nothing
	// of it applies.
	w = CreateWriteOp()
	w.Create(CreateExclusive)
	w.Append([]byte("XX"))
	if err := w.Operate(ctx, io, oid, OperationNoFlag); !errors.Is(err, ErrObjectExists) {
		t.Fatalf("exclusive create of an existing object: %v", err)
	}

	// cmpext: a match lets the write through, a mismatch fails it and
	// says where.
	w = CreateWriteOp()
	okStep := w.CmpExt([]byte("hello"), 0)
	w.Write([]byte("HELLO"), 0)
	if err := w.Operate(ctx, io, oid, OperationNoFlag); err != nil || okStep.Result != 0 {
		t.Fatalf("matching cmpext: %v, result %d", err, okStep.Result)
	}
	w = CreateWriteOp()
	bad := w.CmpExt([]byte("HELxO"), 0)
	w.Write([]byte("zzzzz"), 0)
	err = w.Operate(ctx, io, oid, OperationNoFlag)
	var ce *CmpExtError
	if !errors.As(err, &ce) || ce.Offset != 3 || bad.Result != -(4095+3) || ErrorCode(err) != -(4095+3) || !errors.Is(err, syscall.EILSEQ) {
		t.Fatalf("mismatching cmpext: %v (step %d, code %d)", err, bad.Result, ErrorCode(err))
	}

	// assert_version: the version we saw passes, an older one fails.
	io.Stat(ctx, oid)
	ver, _ := io.GetLastVersion()
	w = CreateWriteOp()
	w.AssertVersion(ver)
	w.Append([]byte("!"))
	if err := w.Operate(ctx, io, oid, OperationNoFlag); err != nil {
		t.Fatalf("assert_version %d: %v", ver, err)
	}
	w = CreateWriteOp()
	w.AssertVersion(ver)
	w.Append([]byte("?"))
	if err := w.Operate(ctx, io, oid, OperationNoFlag); !errors.Is(err, syscall.ERANGE) {
		t.Fatalf("assert_version of a stale version: %v, want ERANGE", err)
	}

	// writesame, read back through the CLI.
	w = CreateWriteOp()
	w.WriteSame([]byte("ab"), 8, 20)
	if err := w.Operate(ctx, io, oid, OperationNoFlag); err != nil {
		t.Fatal(err)
	}
	got, _, _ := realRados(t, conf, nil, "-p", "msgr", "get", oid, "/dev/stdout")
	if want := "HELLO world!\x00\x00\x00\x00\x00\x00\x00\x00abababab"; got != want {
		t.Fatalf("after writesame rados reads %q, want %q", got, want)
	}

	// A compound read.
	r := CreateReadOp()
	r.AssertExists()
	buf := make([]byte, 5)
	rs := r.Read(0, buf)
	stat := r.Stat()
	om := r.GetOmapValues("", "", 10)
	byKeys := r.GetOmapValuesByKeys([]string{"k1", "nope"})
	if err := r.Operate(ctx, io, oid, OperationNoFlag); err != nil {
		t.Fatal(err)
	}
	if rs.BytesRead != 5 || string(buf) != "HELLO" || stat.Stat.Size != 28 {
		t.Fatalf("read %d %q, size %d", rs.BytesRead, buf, stat.Stat.Size)
	}
	var keys []string
	for kv, _ := om.Next(); kv != nil; kv, _ = om.Next() {
		keys = append(keys, kv.Key+"="+string(kv.Value))
	}
	kv, _ := byKeys.Next()
	if strings.Join(keys, ",") != "k1=v1,k2=v2" || om.More() || kv == nil || kv.Key != "k1" {
		t.Fatalf("omap %v more %v, by keys %v", keys, om.More(), kv)
	}

	// A compound read of a missing object fails with ENOENT.
	r = CreateReadOp()
	r.AssertExists()
	if err := r.Operate(ctx, io, p+"missing", OperationNoFlag); !errors.Is(err, ErrNotFound) || ErrorCode(err) != -2 {
		t.Fatalf("read op on a missing object: %v", err)
	}
}

func TestInteropBehaviourAsLibrados(t *testing.T) {
	_, c, io, p := sharedIO(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// An empty read still asks the OSD: ENOENT for a missing object.
	if _, err := io.Read(ctx, p+"missing", nil, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty read of a missing object: %v", err)
	}
	if err := io.WriteFull(ctx, p+"x", []byte("abc")); err != nil {
		t.Fatal(err)
	}
	if n, err := io.Read(ctx, p+"x", nil, 0); n != 0 || err != nil {
		t.Fatalf("empty read of an object: %d %v", n, err)
	}
	// A short buffer for an xattr: ERANGE.
	if err := io.SetXattr(ctx, p+"x", "a", []byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.GetXattr(ctx, p+"x", "a", make([]byte, 4)); !errors.Is(err, syscall.ERANGE) {
		t.Fatalf("xattr into a short buffer: %v", err)
	}
	if n, err := io.GetXattr(ctx, p+"x", "a", make([]byte, 10)); n != 10 || err != nil {
		t.Fatalf("xattr: %d %v", n, err)
	}
	// MakePool of an existing pool: EEXIST, as its doc says.
	if err := c.MakePool(ctx, "msgr"); !errors.Is(err, ErrObjectExists) {
		t.Fatalf("MakePool of an existing pool: %v", err)
	}
}

// rados lock info's JSON.
type cliLockInfo struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Tag     string `json:"tag"`
	Lockers []struct {
		Name   string `json:"name"`
		Cookie string `json:"cookie"`
		Addr   string `json:"addr"`
	} `json:"lockers"`
}

func TestInteropLocks(t *testing.T) {
	conf, c, io, p := sharedIO(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	oid := p + "lk"
	// msgr takes it: the CLI lists it and cannot take it.
	if r, err := io.LockExclusive(ctx, oid, "l1", "ck", "desc", 0, nil); r != 0 || err != nil {
		t.Fatalf("LockExclusive: %d %v", r, err)
	}
	if r, err := io.LockExclusive(ctx, oid, "l1", "ck", "desc", 0, nil); r != -int(syscall.EEXIST) || err != nil {
		t.Fatalf("second LockExclusive: %d %v", r, err)
	}
	out, _, _ := realRados(t, conf, nil, "-p", "msgr", "lock", "list", oid)
	if !strings.Contains(out, `"name":"l1"`) {
		t.Fatalf("rados lock list: %q", out)
	}
	out, _, _ = realRados(t, conf, nil, "-p", "msgr", "lock", "info", oid, "l1")
	var info cliLockInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("rados lock info %q: %v", out, err)
	}
	me := fmt.Sprintf("client.%d", c.GetInstanceID())
	if info.Type != "exclusive" || len(info.Lockers) != 1 || info.Lockers[0].Name != me || info.Lockers[0].Cookie != "ck" {
		t.Fatalf("rados lock info: %+v, want held by %s", info, me)
	}
	if _, e, code := realRados(t, conf, nil, "-p", "msgr", "lock", "get", oid, "l1", "--lock-cookie", "other"); code == 0 || !strings.Contains(e, "busy") {
		t.Fatalf("the CLI took a lock msgr holds: %d %q", code, e)
	}
	li, err := io.ListLockers(ctx, oid, "l1")
	if err != nil || !li.Exclusive || li.NumLockers != 1 || li.Clients[0] != me || li.Cookies[0] != "ck" || li.Addrs[0] != info.Lockers[0].Addr {
		t.Fatalf("ListLockers: %+v %v; CLI %+v", li, err, info)
	}
	if r, err := io.Unlock(ctx, oid, "l1", "ck"); r != 0 || err != nil {
		t.Fatalf("Unlock: %d %v", r, err)
	}
	if r, err := io.Unlock(ctx, oid, "l1", "ck"); r != -int(syscall.ENOENT) || err != nil {
		t.Fatalf("second Unlock: %d %v", r, err)
	}

	// The CLI takes it shared: msgr sees it, joins it with the tag, and
	// breaks the CLI's hold.
	if _, e, code := realRados(t, conf, nil, "-p", "msgr", "lock", "get", oid, "l2", "--lock-type", "shared", "--lock-tag", "tg", "--lock-cookie", "cli"); code != 0 {
		t.Fatalf("rados lock get: %s", e)
	}
	if r, err := io.LockExclusive(ctx, oid, "l2", "ck", "", 0, nil); r != -int(syscall.EBUSY) || err != nil {
		t.Fatalf("LockExclusive of a shared lock: %d %v", r, err)
	}
	if r, err := io.LockShared(ctx, oid, "l2", "ck", "tg", "", time.Minute, nil); r != 0 || err != nil {
		t.Fatalf("LockShared: %d %v", r, err)
	}
	li, err = io.ListLockers(ctx, oid, "l2")
	if err != nil || li.Exclusive || li.Tag != "tg" || li.NumLockers != 2 {
		t.Fatalf("ListLockers of the shared lock: %+v %v", li, err)
	}
	var cli string
	for i, ck := range li.Cookies {
		if ck == "cli" {
			cli = li.Clients[i]
		}
	}
	if r, err := io.BreakLock(ctx, oid, "l2", cli, "cli"); r != 0 || err != nil {
		t.Fatalf("BreakLock %s: %d %v", cli, r, err)
	}
	if r, err := io.BreakLock(ctx, oid, "l2", cli, "cli"); r != -int(syscall.ENOENT) || err != nil {
		t.Fatalf("second BreakLock: %d %v", r, err)
	}
	out, _, _ = realRados(t, conf, nil, "-p", "msgr", "lock", "info", oid, "l2")
	if err := json.Unmarshal([]byte(out), &info); err != nil || len(info.Lockers) != 1 || info.Lockers[0].Cookie != "ck" {
		t.Fatalf("after BreakLock, rados lock info: %q", out)
	}
	// Exec of a read-only method: lock's list_locks.
	b, err := io.Exec(ctx, oid, "lock", "list_locks", nil)
	if err != nil || !bytes.Contains(b, []byte("l2")) {
		t.Fatalf("exec lock.list_locks: %q %v", b, err)
	}
	// librados (python rados' execute) gets EPERM for a class the OSD
	// cannot load.
	if _, err := io.Exec(ctx, oid, "nosuchclass", "m", nil); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("exec of a missing class: %v", err)
	}
}

// Iter lists what rados ls lists; GetAddrs names this client as the OSDs
// see it (rados listwatchers prints the address of a watch).
func TestInteropIterAndAddrs(t *testing.T) {
	conf, c, io, p := sharedIO(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range 30 {
		if err := io.WriteFull(ctx, fmt.Sprintf("%s%02d", p, i), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	out, _, _ := realRados(t, conf, nil, "-p", "msgr", "ls")
	var want []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, p) {
			want = append(want, l)
		}
	}
	it, err := io.Iter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for it.Next(ctx) {
		if strings.HasPrefix(it.Value(), p) {
			got = append(got, it.Value())
		}
	}
	if it.Err() != nil || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Iter %v (%v), rados ls %v", got, it.Err(), want)
	}
	addrs, err := c.GetAddrs()
	if err != nil || !strings.Contains(addrs, "/") {
		t.Fatalf("GetAddrs %q %v", addrs, err)
	}
	w, err := io.Watch(ctx, p+"00")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Delete(ctx)
	out, _, _ = realRados(t, conf, nil, "-p", "msgr", "listwatchers", p+"00")
	nonce := addrs[strings.LastIndex(addrs, "/"):]
	nonce = strings.TrimRight(nonce, "]")
	if !strings.Contains(out, nonce) {
		t.Fatalf("GetAddrs %q, rados listwatchers %q", addrs, out)
	}
	if err := c.WatcherFlush(ctx); err != nil {
		t.Fatal(err)
	}
}

// Checksum's crc32c, seeded with all ones and inverted, is the standard
// CRC-32C (Ceph's crc32c leaves out the inversions).
func TestInteropChecksum(t *testing.T) {
	_, _, io, p := sharedIO(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	data := randomBytes(8192)
	if err := io.WriteFull(ctx, p+"c", data); err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, 4+2*4)
	err := io.Checksum(ctx, p+"c", ChecksumTypeCRC32C, dst, &ChecksumOptions{Len: 8192, ChunkSize: 4096, InitValue: []byte{0xff, 0xff, 0xff, 0xff}})
	if err != nil {
		t.Fatal(err)
	}
	le := func(b []byte) uint32 { return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24 }
	tab := crc32.MakeTable(crc32.Castagnoli)
	if n := le(dst); n != 2 {
		t.Fatalf("%d checksums", n)
	}
	for i := range 2 {
		if got, want := le(dst[4+4*i:])^0xffffffff, crc32.Checksum(data[4096*i:4096*(i+1)], tab); got != want {
			t.Fatalf("chunk %d: crc32c %08x, want %08x", i, got, want)
		}
	}
	if err := io.Checksum(ctx, p+"c", ChecksumTypeCRC32C, make([]byte, 4), &ChecksumOptions{Len: 8192, ChunkSize: 4096}); !errors.Is(err, syscall.ERANGE) {
		t.Fatalf("short buffer: %v", err)
	}
}
