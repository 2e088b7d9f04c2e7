package fe

import (
	"context"
	"fmt"
	"strings"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/checksum"
	"github.com/starrocks-backup/srbackup/pkg/localfile"
	"github.com/starrocks-backup/srbackup/pkg/sshx"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// FetchOptions are the inputs of Fetch.
type FetchOptions struct {
	SSH          sshx.Options
	RemotePath   string
	LocalPath    string
	SHA256       string // expected digest; "" asks the host's sha256sum
	RemoveRemote bool
}

// FetchResult is fe-fetch's part of the result line.
type FetchResult struct {
	Host          string  `json:"host"`
	RemotePath    string  `json:"remote_path"`
	LocalPath     string  `json:"local_path"`
	Size          int64   `json:"size"`
	SHA256        string  `json:"sha256,omitempty"`
	VerifiedWith  string  `json:"verified_with,omitempty"`
	RemovedRemote bool    `json:"removed_remote"`
	BytesPerSec   float64 `json:"bytes_per_s,omitempty"`
}

// validate checks the options and returns the expected digest, normalized.
func (o *FetchOptions) validate() (string, error) {
	if o.RemotePath == "" {
		return "", usage.Errorf("--remote-path is required")
	}
	if strings.ContainsRune(o.RemotePath, 0) {
		return "", usage.Errorf("--remote-path holds a NUL byte")
	}
	if err := localfile.CheckOutput("--local-path", o.LocalPath); err != nil {
		return "", err
	}
	sha := checksum.Normalize(o.SHA256)
	if sha != "" && !checksum.IsSHA256(sha) {
		return "", usage.Errorf("--sha256 %q is not a hex SHA-256 (64 characters)", o.SHA256)
	}
	return sha, nil
}

// Fetch downloads a file (an fe-archive result) from the FE host by SFTP,
// streamed into a temporary file beside LocalPath with its SHA-256
// computed on the way, checks the digest against SHA256 or, when not
// given, against the host's own sha256sum (run while the download runs),
// and only then renames it to LocalPath. A mismatch, a dropped connection
// or a cancellation leave nothing at LocalPath. With RemoveRemote the
// remote file is deleted after a verified fetch.
func Fetch(ctx context.Context, o FetchOptions) (*FetchResult, error) {
	log := zerolog.Ctx(ctx)
	expected, err := o.validate()
	if err != nil {
		return nil, err
	}
	cfg, err := o.SSH.Resolve()
	if err != nil {
		return nil, err
	}
	res := &FetchResult{Host: cfg.Addr(), RemotePath: o.RemotePath, LocalPath: o.LocalPath}
	c, err := sshx.Dial(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer c.Close()

	type digest struct {
		sum string
		err error
	}
	var remoteSum chan digest
	if expected == "" {
		// The host hashes its copy while we download ours.
		remoteSum = make(chan digest, 1)
		go func() {
			s, err := c.RemoteSHA256(ctx, o.RemotePath)
			remoteSum <- digest{s, err}
		}()
	}
	t, err := c.Download(ctx, o.RemotePath, o.LocalPath, func(sum string, size int64) error {
		res.SHA256, res.Size = sum, size
		want, with := expected, "--sha256"
		if remoteSum != nil {
			d := <-remoteSum
			if d.err != nil {
				return fmt.Errorf("cannot verify the download: %w; nothing written to %s", d.err, o.LocalPath)
			}
			want, with = d.sum, "sha256sum on the host"
		}
		if sum != want {
			return fmt.Errorf("fetch %s: %w: the downloaded bytes have %s, %s says %s; nothing written to %s",
				o.RemotePath, checksum.ErrMismatch, sum, with, want, o.LocalPath)
		}
		res.VerifiedWith = with
		return nil
	})
	if err != nil {
		return res, err
	}
	res.BytesPerSec = t.BytesPerSec()
	log.Info().Str("remote_path", o.RemotePath).Str("local_path", o.LocalPath).Int64("size", t.Size).
		Str("sha256", t.SHA256).Str("verified_with", res.VerifiedWith).Float64("bytes_per_s", res.BytesPerSec).Msg("fetched")
	if o.RemoveRemote {
		sc, err := c.SFTP()
		if err == nil {
			err = sc.Remove(o.RemotePath)
		}
		if err != nil {
			return res, fmt.Errorf("fetched and verified %s, but could not remove the remote file %s: %w", o.LocalPath, o.RemotePath, err)
		}
		res.RemovedRemote = true
		log.Info().Str("remote_path", o.RemotePath).Msg("remote archive removed")
	}
	return res, nil
}
