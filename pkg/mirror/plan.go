package mirror

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// plan is a validated run: Options checked, never changed.
type plan struct {
	o              Options
	src, dst       Location
	srcCfg, dstCfg s3conf.Config
	excl           *Excludes
	workers        int
	serverSide     bool
	// metadataListing tells that the target may list user metadata
	// (MinIO does; AWS S3 does not), which the run turns on when many
	// objects would otherwise need a HEAD (see decide).
	metadataListing bool
}

// validate checks every option and resolves both endpoints before any
// request is made. All its errors are usage errors.
func validate(o Options) (*plan, error) {
	p := &plan{o: o, workers: o.Workers}
	var err error
	if p.src, err = ParseLocation("source", o.SourcePath); err != nil {
		return nil, err
	}
	if p.dst, err = ParseLocation("target", o.TargetPath); err != nil {
		return nil, err
	}
	switch {
	case o.Workers < 1 || o.Workers > maxWorkers:
		return nil, usage.Errorf("--workers %d is out of range (1-%d)", o.Workers, maxWorkers)
	case o.Retries < 0 || o.Retries > maxRetries:
		return nil, usage.Errorf("--retries %d is out of range (0-%d)", o.Retries, maxRetries)
	case o.MaxDelete < 0:
		return nil, usage.Errorf("--max-delete %d is negative (0 allows no deletion)", o.MaxDelete)
	case o.ProgressInterval < 0:
		return nil, usage.Errorf("--progress-interval %s is negative (0 turns progress lines off)", o.ProgressInterval)
	case o.DryRun && o.Verify:
		return nil, usage.Errorf("--verify with --dry-run: a dry run copies nothing, so there is nothing to verify (its copied count already tells what differs)")
	}
	if p.excl, err = CompileExcludes(o.Excludes); err != nil {
		return nil, err
	}
	if p.srcCfg, err = o.Source.Resolve(); err != nil {
		return nil, fmt.Errorf("source endpoint: %w", err)
	}
	if p.dstCfg, err = o.Target.Resolve(); err != nil {
		return nil, fmt.Errorf("target endpoint: %w", err)
	}
	if sameEndpoint(p.srcCfg, p.dstCfg) && overlaps(p.src, p.dst) {
		if p.src == p.dst {
			return nil, usage.Errorf("source and target are the same place (%s on %s)", p.src, p.srcCfg)
		}
		return nil, usage.Errorf("source %s and target %s overlap on %s: one is inside the other", p.src, p.dst, p.srcCfg)
	}
	p.serverSide = p.srcCfg.SameServer(p.dstCfg)
	p.metadataListing = !p.dstCfg.AWS()
	return p, nil
}

// sameEndpoint reports whether two endpoints are one by their names,
// whatever the case, a default port or a trailing slash. On AWS S3 bucket
// names are global, so any two AWS endpoints are one. Two different names
// of one server (127.0.0.1 and localhost, a DNS alias) are not found here:
// see checkOverlap.
func sameEndpoint(a, b s3conf.Config) bool {
	if a.AWS() && b.AWS() {
		return true
	}
	return canonicalEndpoint(a.Endpoint) == canonicalEndpoint(b.Endpoint)
}

// canonicalEndpoint is scheme://host:port in lower case, with the
// scheme's default port made explicit.
func canonicalEndpoint(endpoint string) string {
	u, err := url.Parse(strings.TrimRight(endpoint, "/"))
	if err != nil {
		return endpoint
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + strings.TrimSuffix(host, ".") + ":" + port
}
