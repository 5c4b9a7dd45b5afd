package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/host/plugintrust"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/pluginapi"
)

// keyPasswordEnv holds a signing key's password when no file gives it, so
// scripts and CI need no prompt.
const keyPasswordEnv = "WHARF_PLUGIN_KEY_PASSWORD"

// pluginSignCmds are "wharf plugin keygen" and "wharf plugin sign".
func (a *app) pluginSignCmds() []*cobra.Command {
	var kg struct {
		out, passwordFile string
		unencrypted       bool
	}
	keygen := &cobra.Command{
		Use:   "keygen --out NAME",
		Short: "Make a minisign key pair for signing plugins (NAME.key, NAME.pub)",
		Long: `Writes NAME.key, the private key (mode 0600), and NAME.pub, the public key
that hosts list under plugin_trust.keys. The private key is encrypted with a
password from --password-file or $` + keyPasswordEnv + `; --unencrypted
stores it in the clear. The files are minisign's, so the minisign tool reads
them too. Existing files are never overwritten.`,
		Example: "  WHARF_PLUGIN_KEY_PASSWORD=… wharf plugin keygen --out acme\n  wharf plugin keygen --out ci --unencrypted",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if kg.out == "" {
				return pluginapi.Invalid("/out", "--out NAME is required")
			}
			password, err := keyPassword(kg.passwordFile)
			if err != nil {
				return err
			}
			if password == "" && !kg.unencrypted {
				return pluginapi.Invalid("/password-file", "give the key a password (--password-file or $%s), or say --unencrypted", keyPasswordEnv)
			}
			pub, priv, err := plugintrust.GenerateKey(password)
			if err != nil {
				return err
			}
			if err := writeNew(kg.out+".key", priv, 0o600); err != nil {
				return err
			}
			if err := writeNew(kg.out+".pub", plugintrust.PublicKeyFile(pub), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Key id:\t%s\nPublic key:\t%s\nWrote %s.key and %s.pub\n", plugintrust.KeyID(pub.ID()), pub.String(), kg.out, kg.out)
			return nil
		},
	}
	fl := keygen.Flags()
	fl.StringVar(&kg.out, "out", "", "write NAME.key and NAME.pub")
	fl.StringVar(&kg.passwordFile, "password-file", "", "read the key's password from this file (default $"+keyPasswordEnv+")")
	fl.BoolVar(&kg.unencrypted, "unencrypted", false, "store the private key without a password")

	var sg struct{ key, passwordFile, comment string }
	sign := &cobra.Command{
		Use:   "sign FILE.wasm --key KEY",
		Short: "Sign a plugin: writes FILE.wasm.minisig",
		Long: `Loads the plugin first (a file that is not a plugin is not signed), then
writes FILE.wasm.minisig, a minisign signature whose signed comment names the
plugin, its version, its ABI and its sha256 unless --comment replaces it.
Hosts whose plugin_trust lists the key's public key trust the file.`,
		Example: "  wharf plugin sign dist/plugins/acme.wasm --key acme.key",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sg.key == "" {
				return pluginapi.Invalid("/key", "--key KEY is required")
			}
			password, err := keyPassword(sg.passwordFile)
			if err != nil {
				return err
			}
			key, err := plugintrust.ReadPrivateKey(sg.key, password)
			if err != nil {
				return pluginapi.Invalid("/key", "%v", err)
			}
			wasm, d, digest, err := loadForSigning(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			comment := sg.comment
			if comment == "" {
				comment = fmt.Sprintf("wharf plugin %s %s abi %s %s", d.Name, d.Version, d.ABIVersion, digest)
			}
			if strings.ContainsAny(comment, "\r\n") {
				return pluginapi.Invalid("/comment", "the comment must be one line")
			}
			out := args[0] + plugintrust.SignatureSuffix
			if err := os.WriteFile(out, plugintrust.Sign(key, wasm, comment), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Signed %s %s with key %s: %s\n", d.Name, d.Version, plugintrust.KeyID(key.ID()), out)
			return nil
		},
	}
	fl = sign.Flags()
	fl.StringVar(&sg.key, "key", "", "the private key file (from wharf plugin keygen or minisign -G)")
	fl.StringVar(&sg.passwordFile, "password-file", "", "read the key's password from this file (default $"+keyPasswordEnv+")")
	fl.StringVar(&sg.comment, "comment", "", "the signed comment (default: the plugin's name, version, ABI and digest)")
	return []*cobra.Command{keygen, sign}
}

// loadForSigning reads a plugin file and loads it, refusing a file that
// changed in between, so what is signed is what was checked.
func loadForSigning(ctx context.Context, path string) ([]byte, pluginapi.DescribeResponse, string, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, pluginapi.DescribeResponse{}, "", pluginapi.Invalid("", "%v", err)
	}
	rt, err := runtime.New(ctx, runtime.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, pluginapi.DescribeResponse{}, "", err
	}
	defer func() { _ = rt.Close(context.Background()) }()
	p, err := rt.Load(ctx, path)
	if err != nil {
		return nil, pluginapi.DescribeResponse{}, "", pluginapi.Invalid("", "%s is not a plugin this host loads: %v", path, err)
	}
	sum := sha256.Sum256(wasm)
	if digest := hex.EncodeToString(sum[:]); digest != p.Digest() {
		return nil, pluginapi.DescribeResponse{}, "", pluginapi.Invalid("", "%s changed while it was being checked: sign it again", path)
	}
	return wasm, p.Describe(), "sha256:" + p.Digest(), nil
}

// trustedKeysFromFlags reads --pubkey values: a .pub file's path or the
// key itself ("RW…"), each named after its file or its id.
func trustedKeysFromFlags(values []string) ([]plugintrust.Key, error) {
	keys := make([]plugintrust.Key, 0, len(values))
	for _, v := range values {
		text, name := v, ""
		if !strings.HasPrefix(v, "RW") {
			b, err := os.ReadFile(v)
			if err != nil {
				return nil, pluginapi.Invalid("/pubkey", "%v", err)
			}
			text, name = string(b), v
		}
		k, err := plugintrust.ParseKey(name, text)
		if err != nil {
			return nil, pluginapi.Invalid("/pubkey", "%s: %v", v, err)
		}
		if k.Name == "" {
			k.Name = k.ID()
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func keyPassword(file string) (string, error) {
	if file == "" {
		return os.Getenv(keyPasswordEnv), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", pluginapi.Invalid("/password-file", "%v", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return pluginapi.Invalid("/out", "%s exists: not overwriting it", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
