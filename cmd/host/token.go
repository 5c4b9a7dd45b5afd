package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/host/ops"
)

// tokenCmd is "wharf token": making API tokens.
func (a *app) tokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Make API tokens"}
	var name, role string
	newCmd := &cobra.Command{
		Use:   "new",
		Short: "Print a new random API token and the config line that accepts it",
		Long: `Prints a new random bearer token (256 bits) and the line to add to the
"tokens" of the config file. The host keeps only the token's SHA-256, so the
token itself is shown once: hand it to its user now. Tokens shorter than
32 characters are refused by the host.`,
		Example: `  wharf token new --name ci --role operator`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			r := ops.Role(role)
			if !r.Valid() {
				return fmt.Errorf("--role %q is not one of viewer, operator, admin", role)
			}
			if name == "" {
				return fmt.Errorf("--name is required: it names the token's user in the audit log")
			}
			tok := newToken()
			line, _ := json.Marshal(ops.Token{Name: name, SHA256: ops.HashToken(tok), Role: r})
			fmt.Fprintf(a.stdout, "token:       %s\nconfig line: %s\n", tok, line)
			return nil
		},
	}
	newCmd.Flags().StringVar(&name, "name", "", "who uses the token (shown in the audit log)")
	newCmd.Flags().StringVar(&role, "role", "viewer", "viewer, operator or admin")
	cmd.AddCommand(newCmd)
	return cmd
}

// newToken is "wharf_" and 32 random bytes, base64url: 49 characters. The
// prefix lets secret scanners recognize a leaked token.
func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "wharf_" + base64.RawURLEncoding.EncodeToString(b[:])
}
