package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/ops"
)

// tokenNewCmd is "wharf tokens new": a bootstrap token for the config
// file, made offline.
func (a *app) tokenNewCmd() *cobra.Command {
	var name, role, selector string
	var conns []string
	newCmd := &cobra.Command{
		Use:   "new",
		Short: "Print a new bootstrap token and the config line that accepts it (offline)",
		Long: `Prints a new random bearer token (256 bits) and the line to add to the
"tokens" of the config file. The host keeps only the token's SHA-256, so the
token itself is shown once: hand it to its user now. Tokens shorter than
32 characters are refused by the host.

The role holds on every connection unless --connection or --selector
limits it (a Kubernetes label selector over the connections' labels).
An owner token holds the host-wide powers and cannot be limited.`,
		Example: `  wharf tokens new --name ci --role operator
  wharf tokens new --name payments-ci --role operator --selector team=payments`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			r, err := access.ParseRole(role)
			if err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			if name == "" {
				return fmt.Errorf("--name is required: it names the token's user in the audit log")
			}
			t := ops.Token{Name: name, Role: r}
			switch {
			case len(conns) > 0 && selector != "":
				return fmt.Errorf("give --connection or --selector, not both")
			case len(conns) > 0:
				s, err := access.Names(conns...)
				if err != nil {
					return fmt.Errorf("--connection: %w", err)
				}
				t.Scope = &s
			case selector != "":
				s, err := access.ParseSelector(selector)
				if err != nil {
					return fmt.Errorf("--selector: %w", err)
				}
				t.Scope = &s
			}
			if t.Scope != nil && r == ops.RoleOwner {
				return fmt.Errorf("an owner token holds host-wide powers: drop --connection and --selector")
			}
			tok := newToken()
			t.SHA256 = ops.HashToken(tok)
			line, _ := json.Marshal(t)
			fmt.Fprintf(a.stdout, "token:       %s\nconfig line: %s\n", tok, line)
			return nil
		},
	}
	newCmd.Flags().StringVar(&name, "name", "", "who uses the token (shown in the audit log)")
	newCmd.Flags().StringVar(&role, "role", "viewer", "viewer, operator, admin or owner")
	newCmd.Flags().StringSliceVar(&conns, "connection", nil, "limit the role to these connections (repeat or comma-separate)")
	newCmd.Flags().StringVar(&selector, "selector", "", "limit the role to connections whose labels match this selector (team=payments,env!=prod)")
	return newCmd
}

// newToken is "wharf_" and 32 random bytes, base64url: 49 characters. The
// prefix lets secret scanners recognize a leaked token.
func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "wharf_" + base64.RawURLEncoding.EncodeToString(b[:])
}
