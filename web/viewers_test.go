package web

import "testing"

func TestViewersPerClientAreCapped(t *testing.T) {
	p := newPerClient(3)
	for i := range 3 {
		if !p.take("192.0.2.1") {
			t.Fatalf("viewer %d refused", i)
		}
	}
	if p.take("192.0.2.1") {
		t.Fatal("a fourth viewer from one address was let in")
	}
	if !p.take("192.0.2.2") {
		t.Fatal("another address was refused")
	}
	p.give("192.0.2.1")
	if !p.take("192.0.2.1") {
		t.Fatal("a freed slot was not given back")
	}
	for range 3 {
		p.give("192.0.2.1")
	}
	p.give("192.0.2.2")
	if len(p.held) != 0 {
		t.Fatalf("entries left for addresses holding nothing: %v", p.held)
	}
}
