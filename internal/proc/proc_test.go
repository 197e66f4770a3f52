package proc

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary plays the three processes under `go tool mage demo`
// when PAWNET_PROC_ROLE says so: "mage" (starts the workflow and waits,
// with Go's default signal handling, as mage does for TERM and HUP),
// "workflow" (the compiled magefile: proc.Run of the server) and "server"
// (pawnet train -serve: listens on a loopback port until it is stopped).
// Each writes its pid (and the server its port) to $PAWNET_PROC_DIR.
func TestMain(m *testing.M) {
	role := os.Getenv("PAWNET_PROC_ROLE")
	if role == "" {
		os.Exit(m.Run())
	}
	dir := os.Getenv("PAWNET_PROC_DIR")
	note := func(text string) {
		if err := os.WriteFile(filepath.Join(dir, role), []byte(text), 0o644); err != nil {
			panic(err)
		}
	}
	self := func(role string) *exec.Cmd {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "PAWNET_PROC_ROLE="+role)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		return cmd
	}
	switch role {
	case "mage":
		note(strconv.Itoa(os.Getpid()))
		if err := self("workflow").Run(); err != nil {
			os.Exit(1)
		}
	case "workflow":
		note(strconv.Itoa(os.Getpid()))
		if err := Run(self("server")); err != nil {
			fmt.Fprintln(os.Stderr, "workflow:", err)
			os.Exit(1)
		}
	case "server":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		note(fmt.Sprintf("%d %d", os.Getpid(), ln.Addr().(*net.TCPAddr).Port))
		for {
			c, err := ln.Accept()
			if err == nil {
				c.Close()
			}
		}
	}
	os.Exit(0)
}

// gone reports whether pid has exited (no such process, or a zombie
// waiting for whoever adopted it to reap it).
func gone(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z'
}

// TestNothingOutlivesTheWorkflow starts mage → workflow → server as real
// processes and stops them the ways a user or a supervisor does: TERM or
// HUP to mage (what `go` forwards), Ctrl-C to the process group, and
// SIGKILL to the workflow. Each time no process is left and nothing
// listens on the server's port.
func TestNothingOutlivesTheWorkflow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target string // whose pid gets the signal; "group" for the process group
		sig    syscall.Signal
	}{
		{"TERM to mage", "mage", syscall.SIGTERM},
		{"HUP to mage", "mage", syscall.SIGHUP},
		{"Ctrl-C to the group", "group", syscall.SIGINT},
		{"KILL to the workflow", "workflow", syscall.SIGKILL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mage := exec.Command(os.Args[0])
			mage.Env = append(os.Environ(), "PAWNET_PROC_ROLE=mage", "PAWNET_PROC_DIR="+dir)
			mage.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its own group, as a terminal's job
			// A file, not a pipe: Wait would wait for every process holding
			// a pipe's end, orphans included.
			log, err := os.Create(filepath.Join(dir, "log"))
			if err != nil {
				t.Fatal(err)
			}
			defer log.Close()
			mage.Stdout, mage.Stderr = log, log
			out := func() string { b, _ := os.ReadFile(log.Name()); return string(b) }
			if err := mage.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = syscall.Kill(-mage.Process.Pid, syscall.SIGKILL) }()
			read := func(role string) []int {
				var nums []int
				for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
					data, err := os.ReadFile(filepath.Join(dir, role))
					if err != nil || len(data) == 0 {
						continue
					}
					for _, f := range strings.Fields(string(data)) {
						n, _ := strconv.Atoi(f)
						nums = append(nums, n)
					}
					return nums
				}
				t.Fatalf("%s did not start:\n%s", role, out())
				return nil
			}
			workflow, server := read("workflow")[0], read("server")
			pid := map[string]int{"mage": mage.Process.Pid, "workflow": workflow, "group": -mage.Process.Pid}[tc.target]
			if err := syscall.Kill(pid, tc.sig); err != nil {
				t.Fatal(err)
			}
			_ = mage.Wait()
			deadline := time.Now().Add(Grace + 5*time.Second)
			for !(gone(workflow) && gone(server[0])) {
				if time.Now().After(deadline) {
					t.Fatalf("after %v to %s: workflow gone %v, server gone %v\n%s", tc.sig, tc.target, gone(workflow), gone(server[0]), out())
				}
				time.Sleep(50 * time.Millisecond)
			}
			// Nothing listens on the server's port any more: a connection is
			// refused. (Binding the port could also fail while another
			// process's outgoing connection happens to use that number.)
			for {
				c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", server[1]), time.Second)
				if err != nil {
					break
				}
				c.Close()
				if time.Now().After(deadline) {
					t.Fatalf("something still listens on the server's port %d", server[1])
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
