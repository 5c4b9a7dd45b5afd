package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/pluginapi"
)

// verifyOptions are the flags of "wharf audit verify".
type verifyOptions struct {
	export      string // a chain export to check offline
	data        string // a data folder to check locally, without a server
	key         string // the chain key file
	pubkey      string // the public key (text or a file holding it)
	signingKey  string // the signing key file (its public half is used)
	checkpoints string // a checkpoint log (a copy kept elsewhere)
}

func (a *app) auditVerifyCmd() *cobra.Command {
	var o verifyOptions
	cmd := &cobra.Command{
		Use:   "verify [--pubkey KEY] | --export FILE --key FILE (--pubkey KEY | --signing-key FILE) [--checkpoints FILE] | --data DIR",
		Short: "Check the audit log's keyed hash chain and signed checkpoints",
		Long: `Checks every row's keyed hash (HMAC-SHA256) and its link to the row before,
and the chain's head against the signed checkpoint log: an altered or
re-chained row, rows removed from the middle or the end, an emptied table and
a forged or edited checkpoint log are all reported. Exits non-zero unless intact.

Three ways:
  (default)  ask the running host (--server); with --pubkey, also check the
             host signs with the public key you kept.
  --export   check a "wharf audit export --format chain" file offline, with the
             chain key, the public key and, ideally, a copy of the checkpoint
             log kept elsewhere (it shows rows deleted before the export).
  --data     check a data folder's database directly, no server needed (a
             stopped host, or a copy of its folder).

Keep elsewhere, out of reach of whoever can write this machine: the public key
("wharf audit pubkey"), a copy of audit-chain.key, and copies of the
checkpoint log as it grows. Deleting the newest rows together with the newest
checkpoint lines cannot be detected from this machine alone.`,
		Example: `  wharf audit verify --pubkey 5J+9YKHY...=
  wharf audit export --format chain -O audit.chain
  wharf audit verify --export audit.chain --key audit-chain.key --pubkey pub.txt --checkpoints audit.checkpoints
  wharf audit verify --data /var/lib/wharf`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, raw, err := a.verifyAudit(cmd.Context(), o)
			if err != nil {
				return err
			}
			return a.printVerify(rep, raw, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.export, "export", "", "check this chain export offline")
	fl.StringVar(&o.data, "data", "", "check the database in this data folder, without a server")
	fl.StringVar(&o.key, "key", "", "the chain key file (audit-chain.key); with --export")
	fl.StringVar(&o.pubkey, "pubkey", "", "the public key you kept (base64, or a file holding it)")
	fl.StringVar(&o.signingKey, "signing-key", "", "take the public key from this signing key file (audit-signing.key)")
	fl.StringVar(&o.checkpoints, "checkpoints", "", "a checkpoint log to check against (a copy kept elsewhere)")
	return cmd
}

func (a *app) auditPubkeyCmd() *cobra.Command {
	var data, signingKey string
	cmd := &cobra.Command{
		Use:   "pubkey (--data DIR | --signing-key FILE)",
		Short: "Print the public key that checks the audit checkpoints",
		Long: `Prints the ed25519 public key of the host's audit signing key, read locally
from the data folder. Keep it somewhere an attacker of this machine cannot
change it, and pass it to "wharf audit verify --pubkey".`,
		Example: "  wharf audit pubkey --data /var/lib/wharf > wharf-audit.pub",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if signingKey == "" {
				if data == "" {
					return pluginapi.Invalid("", "give --data DIR or --signing-key FILE")
				}
				signingKey = filepath.Join(data, audit.SigningKeyFile)
			}
			pub, err := pubFromSigningKey(signingKey)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, audit.PublicKeyText(pub))
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "the host's data folder")
	cmd.Flags().StringVar(&signingKey, "signing-key", "", "the signing key file")
	return cmd
}

func pubFromSigningKey(path string) (ed25519.PublicKey, error) {
	seed, err := audit.ReadKeyFile(path)
	if err != nil {
		return nil, pluginapi.Invalid("", "%v", err)
	}
	priv, err := audit.SignerFromSeed(seed)
	if err != nil {
		return nil, pluginapi.Invalid("", "%v", err)
	}
	return priv.Public().(ed25519.PublicKey), nil
}

// publicKey reads --pubkey (text or a file) or --signing-key.
func (o *verifyOptions) publicKey() (ed25519.PublicKey, error) {
	switch {
	case o.pubkey != "" && o.signingKey != "":
		return nil, pluginapi.Invalid("", "give --pubkey or --signing-key, not both")
	case o.signingKey != "":
		return pubFromSigningKey(o.signingKey)
	case o.pubkey != "":
		text := o.pubkey
		if b, err := os.ReadFile(o.pubkey); err == nil {
			text = string(b)
		}
		pub, err := audit.ParsePublicKey(text)
		if err != nil {
			return nil, pluginapi.Invalid("", "--pubkey: %v", err)
		}
		return pub, nil
	}
	return nil, nil
}

func (a *app) verifyAudit(ctx context.Context, o verifyOptions) (audit.VerifyReport, []byte, error) {
	var rep audit.VerifyReport
	pub, err := o.publicKey()
	if err != nil {
		return rep, nil, err
	}
	switch {
	case o.export != "" && o.data != "":
		return rep, nil, pluginapi.Invalid("", "give --export or --data, not both")
	case o.export != "":
		rep, err = verifyExportFile(o, pub)
	case o.data != "":
		rep, err = verifyDataDir(ctx, o, pub)
	default:
		if o.key != "" || o.checkpoints != "" || o.signingKey != "" {
			return rep, nil, pluginapi.Invalid("", "--key, --checkpoints and --signing-key go with --export or --data")
		}
		c, err := a.client()
		if err != nil {
			return rep, nil, err
		}
		var raw []byte
		if rep, err = c.Audit.Verify(ctx, client.RawJSON(&raw)); err != nil {
			return rep, nil, err
		}
		if pub != nil && rep.PublicKey != audit.PublicKeyText(pub) {
			return rep, raw, pluginapi.Errorf(pluginapi.CodeConflict,
				"the host signs audit checkpoints with public key %s, not the key you gave (%s): its signing key was replaced",
				rep.PublicKey, audit.PublicKeyText(pub))
		}
		return rep, raw, nil
	}
	if err != nil {
		return rep, nil, err
	}
	raw, _ := json.Marshal(rep)
	return rep, raw, nil
}

func verifyExportFile(o verifyOptions, pub ed25519.PublicKey) (audit.VerifyReport, error) {
	if o.key == "" || pub == nil {
		return audit.VerifyReport{}, pluginapi.Invalid("", "--export needs --key (the chain key file) and --pubkey or --signing-key")
	}
	key, err := audit.ReadKeyFile(o.key)
	if err != nil {
		return audit.VerifyReport{}, pluginapi.Invalid("/key", "%v", err)
	}
	f, err := os.Open(o.export)
	if err != nil {
		return audit.VerifyReport{}, pluginapi.Invalid("/export", "%v", err)
	}
	defer f.Close()
	vo := audit.VerifyOptions{ChainKey: key, PublicKey: pub}
	if o.checkpoints != "" {
		cf, err := os.Open(o.checkpoints)
		if err != nil {
			return audit.VerifyReport{}, pluginapi.Invalid("/checkpoints", "%v", err)
		}
		defer cf.Close()
		vo.Checkpoints = cf
	}
	rep, err := audit.VerifyExport(f, vo)
	if err != nil {
		return rep, pluginapi.Errorf(pluginapi.CodeInternal, "read %s: %v", o.export, err)
	}
	return rep, nil
}

func verifyDataDir(ctx context.Context, o verifyOptions, pub ed25519.PublicKey) (audit.VerifyReport, error) {
	dbPath := filepath.Join(o.data, "wharf.db")
	if _, err := os.Stat(dbPath); err != nil {
		return audit.VerifyReport{}, pluginapi.Invalid("/data", "no database in %s: %v", o.data, err)
	}
	keyPath := o.key
	if keyPath == "" {
		keyPath = filepath.Join(o.data, audit.ChainKeyFile)
	}
	key, err := audit.ReadKeyFile(keyPath)
	if err != nil {
		return audit.VerifyReport{}, pluginapi.Invalid("/key", "%v", err)
	}
	if pub == nil {
		if pub, err = pubFromSigningKey(filepath.Join(o.data, audit.SigningKeyFile)); err != nil {
			return audit.VerifyReport{}, err
		}
	}
	cpPath := o.checkpoints
	if cpPath == "" {
		cpPath = filepath.Join(o.data, audit.CheckpointsFile)
	}
	vo := audit.VerifyOptions{ChainKey: key, PublicKey: pub}
	var notes []string
	switch cf, err := os.Open(cpPath); {
	case err == nil:
		defer cf.Close()
		// Read the checkpoints before the database: a host still writing
		// appends its checkpoints after its commits.
		b, err := io.ReadAll(cf)
		if err != nil {
			return audit.VerifyReport{}, pluginapi.Invalid("/checkpoints", "%v", err)
		}
		vo.Checkpoints = bytes.NewReader(b)
	case errors.Is(err, fs.ErrNotExist):
		notes = append(notes, "no checkpoint log at "+cpPath)
	default:
		return audit.VerifyReport{}, pluginapi.Invalid("/checkpoints", "%v", err)
	}
	db, err := store.Open(dbPath)
	if err != nil {
		return audit.VerifyReport{}, pluginapi.Errorf(pluginapi.CodeInternal, "%v", err)
	}
	defer db.Close()
	rep, err := audit.VerifyDatabase(ctx, db, vo)
	if err != nil {
		return rep, pluginapi.Errorf(pluginapi.CodeInternal, "%v", err)
	}
	rep.Notes = append(rep.Notes, notes...)
	return rep, nil
}

func (a *app) printVerify(rep audit.VerifyReport, raw []byte, o verifyOptions) error {
	if err := a.show(raw, func(w *tabwriter.Writer) {
		if rep.OK {
			fmt.Fprintf(w, "ok: %d rows, keyed hash chain intact, %d signed checkpoints match\n", rep.Rows, rep.Checkpoints)
		} else {
			fmt.Fprintf(w, "DAMAGED: %s\n", rep.Summary())
		}
		if rep.CheckpointTime != nil {
			fmt.Fprintf(w, "Last checkpoint:\t%d rows at %s\n", rep.CheckpointRows, rep.CheckpointTime.Format(time.RFC3339))
		}
		if rep.LegacyRows > 0 {
			fmt.Fprintf(w, "Legacy rows:\t1 to %d (unkeyed SHA-256, written before the key)\n", rep.LegacyRows)
		}
		fmt.Fprintf(w, "Chain key id:\t%s\nPublic key:\t%s\n", rep.ChainKeyID, rep.PublicKey)
		if o.pubkey == "" && o.signingKey == "" && o.export == "" && o.data == "" {
			fmt.Fprintln(w, "(keep the public key elsewhere and pass it with --pubkey next time)")
		}
		for _, n := range rep.Notes {
			fmt.Fprintf(w, "Note:\t%s\n", n)
		}
	}); err != nil {
		return err
	}
	if !rep.OK {
		at := ""
		if rep.FirstBadID > 0 {
			at = fmt.Sprintf(" at row %d", rep.FirstBadID)
		}
		return pluginapi.Errorf(pluginapi.CodeConflict, "audit log damaged%s: %s: %s", at, rep.Status, strings.TrimSpace(rep.Problem))
	}
	return nil
}
