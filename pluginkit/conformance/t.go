package conformance

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
)

// T is what the scenario needs of a test. *testing.T has it (Run), and
// RunSteps brings its own, so that the scenario runs outside go test too
// (wharf plugin test).
type T interface {
	Helper()
	Name() string
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Failed() bool
	Cleanup(f func())
}

// StepResult is how one step of RunSteps went.
type StepResult struct {
	Name     string
	Passed   bool // false when it failed or was skipped
	Skipped  string
	Duration time.Duration
	// Failures are the step's error messages; Logs what it logged.
	Failures []string
	Logs     []string
}

// RunSteps runs the scenario against the host behind c outside go test,
// calling report after each step, and returns whether every step that ran
// passed. A failed step that later steps build on ends the scenario there;
// cleanups (the services and connections it made) run at the end either way.
func RunSteps(c *Client, p Platform, report func(StepResult)) bool {
	top := &stepT{name: "conformance"}
	s := newScenario(top, c, p)
	ok := true
	for _, st := range scenarioSteps {
		r := StepResult{Name: st.name}
		if skip := s.skip(st); skip != "" {
			r.Skipped = skip
			report(r)
			continue
		}
		t := &stepT{name: st.name}
		start := time.Now()
		t.run(func() { st.run(s, t) })
		t.cleanup()
		r.Duration = time.Since(start)
		r.Failures, r.Logs, r.Skipped = t.failures, t.logs, t.skipped
		r.Passed = !t.Failed() && t.skipped == ""
		report(r)
		if t.Failed() {
			ok = false
			if st.required {
				report(StepResult{Name: "the steps after it", Skipped: fmt.Sprintf("%q failed and they need it", st.name)})
				break
			}
		}
	}
	top.cleanup()
	return ok
}

// stepT is RunSteps' T: Fatal and Skip end the step's goroutine as
// testing's do.
type stepT struct {
	name     string
	mu       sync.Mutex
	failures []string
	logs     []string
	skipped  string
	cleanups []func()
}

// run calls f in a goroutine of its own and waits for it, so that Fatal
// (runtime.Goexit) ends only f; a panic is a failure.
func (t *stepT) run(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("panic: %v", r)
			}
		}()
		f()
	}()
	<-done
}

func (t *stepT) cleanup() {
	for {
		t.mu.Lock()
		n := len(t.cleanups)
		if n == 0 {
			t.mu.Unlock()
			return
		}
		f := t.cleanups[n-1]
		t.cleanups = t.cleanups[:n-1]
		t.mu.Unlock()
		t.run(f)
	}
}

func (t *stepT) Helper()      {}
func (t *stepT) Name() string { return t.name }

func (t *stepT) Logf(format string, args ...any) {
	t.mu.Lock()
	t.logs = append(t.logs, fmt.Sprintf(format, args...))
	t.mu.Unlock()
}

func (t *stepT) Errorf(format string, args ...any) {
	t.mu.Lock()
	t.failures = append(t.failures, fmt.Sprintf(format, args...))
	t.mu.Unlock()
}

func (t *stepT) Fatal(args ...any) {
	t.Errorf("%s", strings.TrimSuffix(fmt.Sprintln(args...), "\n"))
	runtime.Goexit()
}

func (t *stepT) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	runtime.Goexit()
}

func (t *stepT) Skip(args ...any) {
	t.mu.Lock()
	t.skipped = strings.TrimSuffix(fmt.Sprintln(args...), "\n")
	t.mu.Unlock()
	runtime.Goexit()
}

func (t *stepT) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.failures) > 0
}

func (t *stepT) Cleanup(f func()) {
	t.mu.Lock()
	t.cleanups = append(t.cleanups, f)
	t.mu.Unlock()
}
