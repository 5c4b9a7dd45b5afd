package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/host/identity"
	"github.com/wharfhq/wharf/pluginapi"
)

// The identity commands are clients of the host's /me, /tokens, /bindings,
// /sessions and /users routes; the host decides who may do what.

func (a *app) whoamiCmd() *cobra.Command {
	return &cobra.Command{
		Use: "whoami", Short: "Show who the host takes you for and what you may do", Args: cobra.NoArgs,
		Example: "  wharf whoami\n  wharf whoami -o json",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var raw []byte
			me, err := c.Me(cmd.Context(), client.RawJSON(&raw))
			if err != nil {
				return err
			}
			return a.show(raw, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "Actor:\t%s\nAuthenticated by:\t%s\nOwner:\t%t\nTop role:\t%s\n", me.Actor, me.Auth, me.Owner, orDash(string(me.TopRole)))
				if me.User != nil {
					fmt.Fprintf(w, "User:\t%s (%s/%s)\nGroups:\t%s\n", me.User.ID, me.User.Provider, me.User.Username, orDash(strings.Join(me.User.Groups, ", ")))
				}
				if me.TokenID != "" {
					fmt.Fprintf(w, "Token:\t%s\n", me.TokenID)
				}
				for _, g := range me.Grants {
					fmt.Fprintf(w, "Grant:\t%s on %s\n", g.Role, g.Scope)
				}
				for _, g := range me.UserGrants {
					fmt.Fprintf(w, "User grant:\t%s on %s\n", g.Role, g.Scope)
				}
			})
		},
	}
}

// grantFlags build one grant from --role and one of --all, --connection,
// --selector.
type grantFlags struct {
	role     string
	all      bool
	conns    []string
	selector string
}

func (g *grantFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&g.role, "role", "", "viewer, operator, admin or owner (required)")
	f.BoolVar(&g.all, "all", false, "the role holds on every connection")
	f.StringSliceVar(&g.conns, "connection", nil, "the role holds on these connections (repeat or comma-separate)")
	f.StringVar(&g.selector, "selector", "", "the role holds on connections whose labels match (team=payments,env!=prod)")
}

func (g *grantFlags) grant() (access.Grant, error) {
	if g.role == "" {
		return access.Grant{}, pluginapi.Invalid("", "--role is required: viewer, operator, admin or owner")
	}
	r, err := access.ParseRole(g.role)
	if err != nil {
		return access.Grant{}, pluginapi.Invalid("", "--role: %v", err)
	}
	given := 0
	for _, set := range []bool{g.all, len(g.conns) > 0, g.selector != ""} {
		if set {
			given++
		}
	}
	if given != 1 {
		return access.Grant{}, pluginapi.Invalid("", "give exactly one scope: --all, --connection NAME… or --selector SELECTOR")
	}
	var s access.Scope
	switch {
	case g.all:
		s = access.All()
	case len(g.conns) > 0:
		if s, err = access.Names(g.conns...); err != nil {
			return access.Grant{}, pluginapi.Invalid("", "--connection: %v", err)
		}
	default:
		if s, err = access.ParseSelector(g.selector); err != nil {
			return access.Grant{}, pluginapi.Invalid("", "--selector: %v", err)
		}
	}
	gr := access.Grant{Role: r, Scope: s}
	if err := gr.Check(); err != nil {
		return access.Grant{}, pluginapi.Invalid("", "%v", err)
	}
	return gr, nil
}

// parseExpiry reads --expires: a lifetime ("30d", "12h") or an RFC 3339 time.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, pluginapi.Invalid("", "--expires is required: a lifetime such as 30d or 12h, or an RFC 3339 time")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := parseDays(s)
	if err != nil || d <= 0 {
		return time.Time{}, pluginapi.Invalid("", "--expires %q is neither a lifetime (30d, 12h) nor an RFC 3339 time", s)
	}
	return now.Add(d).UTC().Truncate(time.Second), nil
}

// ---- tokens

// tokensCmd is "wharf tokens": managed tokens through the API, and "new"
// for a bootstrap token of the config file.
func (a *app) tokensCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Aliases: []string{"token"}, Short: "Create, list, revoke and rotate API tokens",
		Long: `Managed tokens are made through the host's API: they have a scope no wider
than their creator's rights and an expiry, and can be revoked or rotated at
once. "wharf tokens new" instead prints a bootstrap token for the config file.`,
		Example: `  wharf tokens create ci --role operator --selector team=payments --expires 30d
  wharf tokens ls
  wharf tokens revoke tok_0123456789abcdef`}

	var whose string
	ls := &cobra.Command{
		Use: "ls", Short: "List tokens (never their secrets)", Args: cobra.NoArgs,
		Example: "  wharf tokens ls\n  wharf tokens ls --user all\n  wharf tokens ls --user service -o json",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var raw []byte
			tokens, err := c.Tokens.List(cmd.Context(), whose, client.RawJSON(&raw))
			if err != nil {
				return err
			}
			return a.show(raw, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tNAME\tUSER\tGRANTS\tEXPIRES\tLAST USED\tSTATE")
				for _, t := range tokens {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, orDash(t.UserID), grantsText(t.Grants),
						t.ExpiresAt.Format(time.RFC3339), lastUsed(t), t.State(time.Now()))
				}
			})
		},
	}
	ls.Flags().StringVar(&whose, "user", "", `whose tokens: yours (default), a user id, "service" (service accounts) or "all" (owners)`)

	var g grantFlags
	var expires string
	var serviceAccount bool
	create := &cobra.Command{
		Use: "create NAME --role ROLE (--all | --connection NAME… | --selector SEL) --expires 30d", Short: "Create a token and print its secret once",
		Args: cobra.ExactArgs(1),
		Example: `  wharf tokens create deploy-bot --role operator --connection prod --expires 30d
  wharf tokens create nightly --role viewer --all --expires 2027-01-31T00:00:00Z --service-account`,
		RunE: func(cmd *cobra.Command, args []string) error {
			gr, err := g.grant()
			if err != nil {
				return err
			}
			exp, err := parseExpiry(expires, time.Now())
			if err != nil {
				return err
			}
			in := auth.TokenRequest{Name: args[0], Grants: access.Grants{gr}, ExpiresAt: exp, ServiceAccount: serviceAccount}
			return a.printNewToken(cmd, func(ctx context.Context, c *client.Client, raw client.CallOption) (auth.NewToken, error) {
				return c.Tokens.Create(ctx, in, raw)
			})
		},
	}
	g.add(create)
	create.Flags().StringVar(&expires, "expires", "", "lifetime (30d, 12h) or RFC 3339 time; required, at most the host's token_max_lifetime")
	create.Flags().BoolVar(&serviceAccount, "service-account", false, "a token of no user, for automation (owners only)")

	revoke := &cobra.Command{
		Use: "revoke ID", Short: "Revoke a token at once", Args: cobra.ExactArgs(1),
		Example: "  wharf tokens revoke tok_0123456789abcdef",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var raw []byte
			t, err := c.Tokens.Revoke(cmd.Context(), args[0], client.RawJSON(&raw))
			if err != nil {
				return err
			}
			return a.show(raw, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "Revoked:\t%s (%s)\n", t.ID, t.Name)
			})
		},
	}
	rotate := &cobra.Command{
		Use: "rotate ID", Short: "Replace a token's secret (the old one stops working) and print the new one once", Args: cobra.ExactArgs(1),
		Example: "  wharf tokens rotate tok_0123456789abcdef",
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.printNewToken(cmd, func(ctx context.Context, c *client.Client, raw client.CallOption) (auth.NewToken, error) {
				return c.Tokens.Rotate(ctx, args[0], raw)
			})
		},
	}
	cmd.AddCommand(ls, create, revoke, rotate, a.tokenNewCmd())
	return cmd
}

// printNewToken shows a created or rotated token, its secret on a line of
// its own so scripts can take it with `-o json` or the last line.
func (a *app) printNewToken(cmd *cobra.Command, issue func(ctx context.Context, c *client.Client, raw client.CallOption) (auth.NewToken, error)) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	var raw []byte
	t, err := issue(cmd.Context(), c, client.RawJSON(&raw))
	if err != nil {
		return err
	}
	return a.show(raw, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "ID:\t%s\nName:\t%s\nUser:\t%s\nGrants:\t%s\nExpires:\t%s\n", t.ID, t.Name, orDash(t.UserID), grantsText(t.Grants), t.ExpiresAt.Format(time.RFC3339))
		fmt.Fprintf(w, "Secret (shown once, keep it now):\n%s\n", t.Secret)
	})
}

func grantsText(gs access.Grants) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = string(g.Role) + " on " + g.Scope.String()
	}
	return orDash(strings.Join(parts, "; "))
}

func lastUsed(t identity.Token) string {
	if t.LastUsedAt.IsZero() {
		return "never"
	}
	return t.LastUsedAt.Format(time.RFC3339) + " from " + orDash(t.LastUsedAddr)
}

// ---- bindings

func (a *app) bindingsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "bindings", Aliases: []string{"binding"}, Short: "Give subjects roles on connections (owners)",
		Long: `A binding gives a subject a role on a scope. Subjects are
user:<provider>/<username>, group:<provider>/<group> or token:<id or bootstrap name>.
Bindings from the config file are listed with source "config" and are replaced
at each start; these commands manage the others.`,
		Example: `  wharf bindings create group:corp/payments --role operator --selector team=payments
  wharf bindings ls
  wharf bindings delete bnd_0123456789abcdef`}
	ls := &cobra.Command{
		Use: "ls", Short: "List role bindings", Args: cobra.NoArgs,
		Example: "  wharf bindings ls\n  wharf bindings ls -o json",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var raw []byte
			bindings, err := c.Bindings.List(cmd.Context(), client.RawJSON(&raw))
			if err != nil {
				return err
			}
			return a.show(raw, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tSUBJECT\tROLE\tSCOPE\tSOURCE")
				for _, b := range bindings {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", orDash(b.ID), b.Subject, b.Role, b.Scope, orDash(b.Source))
				}
			})
		},
	}
	var g grantFlags
	create := &cobra.Command{
		Use: "create SUBJECT --role ROLE (--all | --connection NAME… | --selector SEL)", Short: "Create a role binding",
		Args: cobra.ExactArgs(1),
		Example: `  wharf bindings create user:corp/alice --role admin --connection prod,staging
  wharf bindings create group:corp/platform --role owner --all`,
		RunE: func(cmd *cobra.Command, args []string) error {
			subject, err := access.ParseSubject(args[0])
			if err != nil {
				return pluginapi.Invalid("", "SUBJECT: %v", err)
			}
			gr, err := g.grant()
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var raw []byte
			b, err := c.Bindings.Create(cmd.Context(), access.Binding{Subject: subject, Grant: gr}, client.RawJSON(&raw))
			if err != nil {
				return err
			}
			return a.show(raw, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "Created:\t%s\t%s is %s on %s\n", b.ID, b.Subject, b.Role, b.Scope)
			})
		},
	}
	g.add(create)
	del := &cobra.Command{
		Use: "delete ID", Short: "Delete a role binding made through the API", Args: cobra.ExactArgs(1),
		Example: "  wharf bindings delete bnd_0123456789abcdef",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var raw []byte
			b, err := c.Bindings.Delete(cmd.Context(), args[0], client.RawJSON(&raw))
			if err != nil {
				return err
			}
			return a.show(raw, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "Deleted:\t%s\t%s was %s on %s\n", b.ID, b.Subject, b.Role, b.Scope)
			})
		},
	}
	cmd.AddCommand(ls, create, del)
	return cmd
}

// ---- sessions

func (a *app) sessionsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sessions", Aliases: []string{"session"}, Short: "List and end portal sessions",
		Example: "  wharf sessions ls --user all\n  wharf sessions end ses_0123456789abcdef"}
	var whose string
	ls := &cobra.Command{
		Use: "ls", Short: "List live sessions", Args: cobra.NoArgs,
		Example: "  wharf sessions ls\n  wharf sessions ls --user all\n  wharf sessions ls --user usr_0123456789ABCDEF",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var raw []byte
			sessions, err := c.Sessions.List(cmd.Context(), whose, client.RawJSON(&raw))
			if err != nil {
				return err
			}
			return a.show(raw, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tPRINCIPAL\tMETHOD\tFROM\tCREATED\tLAST SEEN\tEXPIRES")
				for _, s := range sessions {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Principal, s.Method, orDash(s.ClientAddr),
						s.CreatedAt.Format(time.RFC3339), s.LastSeen.Format(time.RFC3339), s.IdleExpires.Format(time.RFC3339))
				}
			})
		},
	}
	ls.Flags().StringVar(&whose, "user", "", `whose sessions: yours (default), a user id or "all" (owners)`)
	end := &cobra.Command{
		Use: "end ID", Short: "End a session at once (yours, or anyone's for an owner)", Args: cobra.ExactArgs(1),
		Example: "  wharf sessions end ses_0123456789abcdef",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.Sessions.End(cmd.Context(), args[0]); err != nil {
				return err
			}
			if a.output == "json" {
				fmt.Fprintf(a.stdout, "{\"ended\": %q}\n", args[0])
				return nil
			}
			fmt.Fprintf(a.stdout, "Ended: %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(ls, end)
	return cmd
}

// ---- users

func (a *app) usersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Aliases: []string{"user"}, Short: "List users and disable or enable them (owners)",
		Long: `Users are made by their first single sign-on. A disabled user's sessions
and tokens stop working at once; enabling them again restores their tokens
(ended sessions stay ended).`,
		Example: "  wharf users ls\n  wharf users disable usr_0123456789ABCDEF"}
	ls := &cobra.Command{
		Use: "ls", Short: "List users", Args: cobra.NoArgs,
		Example: "  wharf users ls\n  wharf users ls -o json",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var raw []byte
			users, err := c.Users.List(cmd.Context(), client.RawJSON(&raw))
			if err != nil {
				return err
			}
			return a.show(raw, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tPROVIDER\tUSERNAME\tNAME\tEMAIL\tGROUPS\tLAST SEEN\tSTATE")
				for _, u := range users {
					state := "active"
					if u.Disabled {
						state = "disabled"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Provider, u.Username, orDash(u.Name), orDash(u.Email),
						orDash(strings.Join(u.Groups, ",")), u.LastSeen.Format(time.RFC3339), state)
				}
			})
		},
	}
	set := func(verb string) *cobra.Command {
		return &cobra.Command{
			Use: verb + " ID", Short: strings.ToUpper(verb[:1]) + verb[1:] + " a user", Args: cobra.ExactArgs(1),
			Example: "  wharf users " + verb + " usr_0123456789ABCDEF",
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := a.client()
				if err != nil {
					return err
				}
				set := c.Users.Enable
				if verb == "disable" {
					set = c.Users.Disable
				}
				var raw []byte
				u, err := set(cmd.Context(), args[0], client.RawJSON(&raw))
				if err != nil {
					return err
				}
				return a.show(raw, func(w *tabwriter.Writer) {
					fmt.Fprintf(w, "%sd:\t%s (%s/%s)\n", strings.ToUpper(verb[:1])+verb[1:], u.ID, u.Provider, u.Username)
				})
			},
		}
	}
	cmd.AddCommand(ls, set("disable"), set("enable"))
	return cmd
}
