package httpguard

import (
	"container/list"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// AuthLimit bounds failed authentications (a wrong bearer token, a wrong
// token on the sign-in page, a stale token cookie) per client address. The
// zero value takes the defaults.
type AuthLimit struct {
	// Burst is the number of failures allowed in a row (default 10).
	Burst int
	// Every is the time one more attempt is earned back after (default 6s,
	// so a steady 10 guesses a minute at most).
	Every time.Duration
	// MaxClients bounds the addresses remembered (default 10,000); when it
	// is reached, the address seen least recently is forgotten.
	MaxClients int
}

func (l AuthLimit) withDefaults() AuthLimit {
	if l.Burst <= 0 {
		l.Burst = 10
	}
	if l.Every <= 0 {
		l.Every = 6 * time.Second
	}
	if l.MaxClients <= 0 {
		l.MaxClients = 10000
	}
	return l
}

// AuthLimiter is a token bucket per client address, in bounded memory: at
// most MaxClients buckets, least recently used evicted first. It is safe
// for concurrent use.
type AuthLimiter struct {
	cfg  AuthLimit
	log  *slog.Logger
	now  func() time.Time // tests move the clock
	mu   sync.Mutex
	lru  *list.List // of *bucket, most recent first
	keys map[string]*list.Element
}

type bucket struct {
	key    string
	lim    *rate.Limiter
	warned bool // the lock-out was logged
}

// NewAuthLimiter returns a limiter with cfg's limits, logging to log.
func NewAuthLimiter(cfg AuthLimit, log *slog.Logger) *AuthLimiter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &AuthLimiter{cfg: cfg.withDefaults(), log: log, now: time.Now, lru: list.New(), keys: map[string]*list.Element{}}
}

// Wait returns how long addr must wait before it may try to authenticate
// again; 0 means now.
func (l *AuthLimiter) Wait(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	el := l.keys[ClientKey(addr)]
	if el == nil {
		return 0
	}
	b := el.Value.(*bucket)
	tokens := b.lim.TokensAt(l.now())
	if tokens >= 1 {
		return 0
	}
	secs := (1 - tokens) / float64(b.lim.Limit())
	return time.Duration(math.Ceil(secs * float64(time.Second)))
}

// Fail records a failed authentication from addr and logs it.
func (l *AuthLimiter) Fail(addr, why string) {
	key := ClientKey(addr)
	l.mu.Lock()
	el := l.keys[key]
	if el == nil {
		if l.lru.Len() >= l.cfg.MaxClients {
			old := l.lru.Back()
			l.lru.Remove(old)
			delete(l.keys, old.Value.(*bucket).key)
		}
		el = l.lru.PushFront(&bucket{key: key, lim: rate.NewLimiter(rate.Every(l.cfg.Every), l.cfg.Burst)})
		l.keys[key] = el
	} else {
		l.lru.MoveToFront(el)
	}
	b := el.Value.(*bucket)
	now := l.now()
	b.lim.AllowN(now, 1)
	locked := b.lim.TokensAt(now) < 1
	first := locked && !b.warned
	b.warned = locked
	l.mu.Unlock()
	l.log.Warn("auth: authentication failed", "client", addr, "why", why)
	if first {
		l.log.Warn("auth: too many failed authentications: client locked out for a while", "client", addr,
			"burst", l.cfg.Burst, "one_more_every", l.cfg.Every)
	}
}

// Len is the number of addresses remembered.
func (l *AuthLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// AuthGate refuses, with 429 and Retry-After, a client that failed to
// authenticate too often; faces call it before they look at credentials.
// Without a Guard on the request it lets everything through.
func AuthGate(c echo.Context) error {
	g := guardOf(c)
	if g == nil {
		return nil
	}
	wait := g.auth.Wait(c.RealIP())
	if wait <= 0 {
		return nil
	}
	secs := int(math.Ceil(wait.Seconds()))
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	return echo.NewHTTPError(http.StatusTooManyRequests,
		fmt.Sprintf("too many failed authentications from %s; try again in %d s", c.RealIP(), secs))
}

// AuthFailed records a failed authentication of c's client (why says what
// failed, never the secret) for AuthGate, and logs it.
func AuthFailed(c echo.Context, why string) {
	if g := guardOf(c); g != nil {
		g.auth.Fail(c.RealIP(), why+" ("+c.Request().Method+" "+c.Request().URL.Path+")")
	}
}
