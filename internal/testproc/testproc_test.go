package testproc

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestChildProcess is the child of the tests below; TESTPROC_MODE says
// what it does.
func TestChildProcess(t *testing.T) {
	switch os.Getenv("TESTPROC_MODE") {
	case "":
		t.Skip("run by the tests of package testproc")
	case "echo":
		// Many lines first: the parent reads none of them.
		for i := range 1000 {
			fmt.Printf("noise %d\n", i)
		}
		fmt.Println("hello from the child")
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			fmt.Println("got", strings.ToUpper(sc.Text()))
		}
	case "fail":
		t.Fatal("failing as asked")
	case "stuck":
		fmt.Println("stuck")
		select {} // never reads stdin; the parent kills it
	}
}

func TestExchange(t *testing.T) {
	c := Start(t, "TestChildProcess", []string{"TESTPROC_MODE=echo"})
	if got := c.Expect(t, "hello", time.Minute); got != "from the child" {
		t.Fatalf("Expect(hello) = %q", got)
	}
	for _, w := range []string{"one", "two"} {
		c.Printf("%s\n", w)
		if got := c.Expect(t, "got", time.Minute); got != strings.ToUpper(w) {
			t.Fatalf("after %q: %q", w, got)
		}
	}
	if err := c.Stop(time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(time.Minute); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestExitStatus(t *testing.T) {
	c := Start(t, "TestChildProcess", []string{"TESTPROC_MODE=fail"})
	if err := c.Stop(time.Minute); err == nil {
		t.Fatal("a failed child reported success")
	}
}

func TestKilledWhenStuck(t *testing.T) {
	c := Start(t, "TestChildProcess", []string{"TESTPROC_MODE=stuck"})
	c.Expect(t, "stuck", time.Minute)
	err := c.Stop(100 * time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("Stop of a stuck child: %v", err)
	}
}

// TestWrap runs the child through a wrapping command (env, standing in
// for ip netns exec).
func TestWrap(t *testing.T) {
	c := Start(t, "TestChildProcess", nil, "env", "TESTPROC_MODE=echo")
	c.Expect(t, "hello", time.Minute)
	if err := c.Stop(time.Minute); err != nil {
		t.Fatal(err)
	}
}
