package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"syscall"
	"time"
)

// Headers of a delivery.
const (
	HeaderID        = "Wharf-Webhook-Id"        // the event's id: the same on every retry, so receivers can drop repeats
	HeaderTimestamp = "Wharf-Webhook-Timestamp" // Unix seconds when the attempt was signed
	HeaderSignature = "Wharf-Webhook-Signature" // v1=<hex HMAC-SHA256 of "<timestamp>.<body>">
)

// Sign returns the signature header value of body sent at timestamp (Unix
// seconds) under secret: "v1=" and the hex HMAC-SHA256 of
// "<timestamp>.<body>".
func Sign(secret string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify is what a receiver does (written in Go for receivers and tests):
// it checks the signature header of body against secret and refuses a
// timestamp further than tolerance from now, so a recorded delivery cannot
// be replayed later.
func Verify(secret string, header http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	ts, err := strconv.ParseInt(header.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%s: not a Unix time", HeaderTimestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%s: %s from now, more than %s", HeaderTimestamp, d.Round(time.Second), tolerance)
	}
	want := Sign(secret, ts, body)
	if !hmac.Equal([]byte(header.Get(HeaderSignature)), []byte(want)) {
		return fmt.Errorf("%s: does not match the body", HeaderSignature)
	}
	return nil
}

// Backoff is the default wait before retry n (n ≥ 1, after attempt n
// failed): 30 s doubling per attempt (30 s, 1 m, 2 m … 32 m: eight attempts
// span about an hour), give or take 20% so that many deliveries failed
// together do not retry together.
func Backoff(n int) time.Duration {
	d := 30 * time.Second << min(max(n-1, 0), 10)
	jitter := time.Duration(rand.Int64N(int64(d)*2/5+1)) - d/5
	return d + jitter
}

// maxAnswer bounds what is read of a receiver's answer (to reuse the
// connection); the rest is dropped.
const maxAnswer = 64 << 10

// blockedPrefixes are the addresses a delivery never connects to: link
// local (169.254.0.0/16, where clouds serve instance metadata and
// credentials, fe80::/10) and AWS's IPv6 metadata address. Webhooks are
// set up by the host's administrators, not its users, so other private
// addresses stay reachable (a receiver in the same network is usual).
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("fd00:ec2::254/128"),
}

// errBlocked is a connection refused by the dialer.
var errBlocked = errors.New("refused: link-local and cloud metadata addresses are never reached")

// blockedAddr reports whether the dialer refuses ip.
func blockedAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// newClient is the plain HTTP client of deliveries: no proxy from the
// environment (the dialer's check must see the real destination), no
// redirects followed (a redirect is a failure the operator fixes in the
// URL), a dialer that refuses blockedPrefixes after name resolution, and a
// timeout per attempt.
func newClient(timeout time.Duration) *http.Client {
	d := &net.Dialer{
		Timeout: min(timeout, 10*time.Second),
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("dial %s: %w", address, err)
			}
			if blockedAddr(ap.Addr()) {
				return fmt.Errorf("dial %s: %w", address, errBlocked)
			}
			return nil
		},
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           d.DialContext,
			TLSHandshakeTimeout:   min(timeout, 10*time.Second),
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// outcome classifies an attempt.
type outcome int

const (
	delivered outcome = iota
	retry             // worth trying again
	permanent         // retrying will not help
)

// classify judges an attempt by its answer status (0: no answer).
func classify(status int) outcome {
	switch {
	case status >= 200 && status < 300:
		return delivered
	case status == 0, status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		return retry
	}
	return permanent // 3xx (not followed), other 4xx
}

// send makes one attempt: it signs body now and POSTs it.
func (s *Service) send(ctx context.Context, sb *sub, p *pending) (status int, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sb.cfg.URL, bytes.NewReader(p.body))
	if err != nil {
		return 0, fmt.Errorf("request: %v", err)
	}
	ts := s.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "wharf-webhooks/1")
	req.Header.Set(HeaderID, p.eventID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(sb.cfg.Secret, ts, p.body))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return resp.StatusCode, fmt.Errorf("answered %d: redirects are not followed (fix the URL)", resp.StatusCode)
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
