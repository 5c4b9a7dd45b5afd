package oidc

import "time"

// SetClock makes p read the time from now, for tests of the state's age.
func (p *Provider) SetClock(now func() time.Time) { p.now = now }
