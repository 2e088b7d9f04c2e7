package mirror

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7/pkg/s3utils"

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
	listWorkers    int
	partWorkers    int
	rng            KeyRange // the run's part of the key space (the zero range: all)
	serverSide     bool
	// metadataListing tells that the target may list user metadata
	// (MinIO does; AWS S3 does not), which the run turns on when many
	// objects would otherwise need a HEAD (see decide).
	metadataListing bool
}

// validate checks every option and resolves both endpoints before any
// request is made. All its errors are usage errors.
func validate(o Options) (*plan, error) {
	p := &plan{o: o, workers: o.Workers, listWorkers: o.ListWorkers, partWorkers: o.PartWorkers}
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
	case o.ListWorkers < 1 || o.ListWorkers > maxListWorkers:
		return nil, usage.Errorf("--list-workers %d is out of range (1-%d)", o.ListWorkers, maxListWorkers)
	case o.PartWorkers < 1 || o.PartWorkers > maxPartWorkers:
		return nil, usage.Errorf("--part-workers %d is out of range (1-%d)", o.PartWorkers, maxPartWorkers)
	case o.Plan < 0 || o.Plan > maxPlan:
		return nil, usage.Errorf("--plan %d is out of range (1-%d shards)", o.Plan, maxPlan)
	case o.DryRun && o.Verify:
		return nil, usage.Errorf("--verify with --dry-run: a dry run copies nothing, so there is nothing to verify (its copied count already tells what differs)")
	}
	if o.KeyRange != "" {
		if p.rng, err = ParseKeyRange(o.KeyRange); err != nil {
			return nil, err
		}
	}
	if err := checkSetKeys(o, p.src, p.dst); err != nil {
		return nil, err
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

// checkSetKeys checks the backup-set options: a listing written outside
// the target prefix (else the next run would mirror or delete it), a
// manifest to read, never both, and no dry run that would write one.
func checkSetKeys(o Options, src, dst Location) error {
	check := func(flag, key string) error {
		if err := s3utils.CheckValidObjectName(key); err != nil || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
			return usage.Errorf("--%s %q is not an object key", flag, key)
		}
		return nil
	}
	switch {
	case o.Manifest != "" && o.FromManifest != "":
		return usage.Errorf("--manifest (a backup writes a set's listing) and --from-manifest (a restore reads a set) do not go together")
	case o.Manifest != "":
		if err := check("manifest", o.Manifest); err != nil {
			return err
		}
		if strings.HasPrefix(o.Manifest, dst.Prefix) {
			return usage.Errorf("--manifest %s is inside the target %s: the listing would be mirrored over or deleted; put it beside (backups/<id>/data.jsonl.gz)", o.Manifest, dst)
		}
		if o.DryRun {
			return usage.Errorf("--manifest with --dry-run: a dry run copies nothing, so it has no listing to write")
		}
	case o.FromManifest != "":
		if err := check("from-manifest", o.FromManifest); err != nil {
			return err
		}
		if strings.HasPrefix(o.FromManifest, src.Prefix) {
			return usage.Errorf("--from-manifest %s is inside the source %s: give the set's manifest.json (backups/<id>/manifest.json)", o.FromManifest, src)
		}
	}
	return nil
}
