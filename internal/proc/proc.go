// Package proc runs the long-lived child processes of pawnet's workflows
// (the trainer and its server under `go tool mage demo`) so that none
// outlives the workflow: a stopped workflow leaves no server holding its
// port.
//
// A workflow runs as `go tool mage X` → mage → the compiled magefile →
// the child. `go` forwards every signal to mage, and a TERM or HUP ends
// mage at once, leaving the compiled magefile and its child behind. So
// Run stops the child, with a TERM and then a kill, when this process
// gets an INT, TERM or HUP, when its parent exits (it is re-parented), and
// when it dies itself (the child's parent-death signal, Linux).
//
// An INT sent to the go process alone stops nothing: mage v1.17.2 catches
// SIGINT and does not pass it on (it expects the terminal's Ctrl-C, which
// reaches the whole process group).
package proc

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// Grace is how long a child has to exit after its TERM before it is killed.
const Grace = 10 * time.Second

// poll is how often Run checks whether its parent is still there.
const poll = 200 * time.Millisecond

// Run starts cmd and waits for it. When this process is told to stop (an
// INT, TERM or HUP, or its parent's exit), Run sends the child a TERM,
// kills it after Grace, and returns an error naming the reason.
func Run(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// If this process dies without running the code below (SIGKILL), the
	// kernel sends the child a TERM.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	parent := os.Getppid()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	var reason string
	for reason == "" {
		select {
		case err := <-done:
			return err
		case s := <-sigs:
			reason = "the workflow got " + s.String()
		case <-tick.C:
			if os.Getppid() != parent {
				reason = "the workflow's parent (mage) exited"
			}
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(Grace):
		_ = cmd.Process.Kill()
		<-done
	}
	return fmt.Errorf("stopped %s because %s", cmd.Path, reason)
}
