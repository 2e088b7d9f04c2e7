package s3conf

import (
	"strings"

	"github.com/starrocks-backup/srbackup/pkg/conn"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// Addressing styles (boto3's addressing_style): where the bucket goes in a
// request's URL.
const (
	// AddressingAuto: virtual-host on AWS S3, except for bucket names
	// holding dots over HTTPS (the name would break the certificate's
	// wildcard), path-style on every other server.
	AddressingAuto = "auto"
	// AddressingPath: https://host/bucket/key.
	AddressingPath = "path"
	// AddressingVirtual: https://bucket.host/key (gateways that require it).
	AddressingVirtual = "virtual"
)

// addressingStyle reads the connection's addressing_style, as boto3 takes
// it (extra config_kwargs.s3.addressing_style, or s3.addressing_style),
// or as a plain extra addressing_style. Empty means auto.
func addressingStyle(cn *conn.Connection) (string, error) {
	if cn == nil {
		return AddressingAuto, nil
	}
	v := cn.String("addressing_style")
	if v == "" {
		v = cn.Nested("config_kwargs", "s3", "addressing_style")
	}
	if v == "" {
		v = cn.Nested("s3", "addressing_style")
	}
	switch v = strings.ToLower(strings.TrimSpace(v)); v {
	case "":
		return AddressingAuto, nil
	case AddressingAuto, AddressingPath, AddressingVirtual:
		return v, nil
	}
	return "", usage.Errorf("connection extra addressing_style %q: want path, virtual or auto", v)
}

// PathStyle reports whether the AWS SDK is told to address buckets in the
// path rather than in the host name. Auto: path-style on every server but
// AWS S3; there the SDK itself falls back to path-style for bucket names
// it cannot put in a TLS host name (dots).
func (c Config) PathStyle() bool {
	switch c.Addressing {
	case AddressingPath:
		return true
	case AddressingVirtual:
		return false
	}
	return !c.AWS()
}
