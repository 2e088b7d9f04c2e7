package mirror

import (
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// MetaSourceETag is the user-metadata key (x-amz-meta-srb-source-etag) in
// which mirror records, on every object it writes, the ETag of the source
// object it copied. A later run compares the source's ETag with it, which
// works for multipart objects and across servers, where the target's own
// ETag says nothing about the source's.
const MetaSourceETag = "Srb-Source-Etag"

// Entry is one object of a listing.
type Entry struct {
	Key      string // relative to the side's prefix
	Size     int64
	ETag     string // lower case, without quotes
	Modified time.Time
	// MetaKnown tells that the listing carried the object's user metadata
	// (MinIO does when asked), so Recorded is known without a HEAD.
	MetaKnown bool
	// Recorded is the source ETag mirror stored on the object when it
	// copied it ("" when it holds none). Valid only when MetaKnown.
	Recorded string
	// Headed tells that the entry comes from a HEAD, which also tells
	// OpaqueETag: the object is encrypted with KMS or a customer key, so
	// its ETag, though 32 hexadecimal digits, is not the MD5 of its bytes.
	Headed     bool
	OpaqueETag bool
}

// Action is what the diff decides for a source object.
type Action int

// Actions.
const (
	Skip  Action = iota // the target holds the same content
	Copy                // missing, different size, or different content
	Check               // same size; content undecided without the target's metadata (HEAD it)
)

func (a Action) String() string {
	return [...]string{"skip", "copy", "check"}[a]
}

// Reasons for a copy (log field "reason").
const (
	ReasonMissing = "missing"      // absent at the target
	ReasonSize    = "size"         // sizes differ
	ReasonChanged = "changed"      // the ETags show different content
	ReasonUnknown = "unverifiable" // same size, but nothing tells the content is the same
)

// Decide is the one diff rule. Modification times are never used: a
// same-size change is found by the ETags, and an older target object with
// the same content is left alone.
//
//  1. missing at the target, or sizes differ: copy;
//  2. both ETags plain MD5s (single-part, unencrypted): skip when equal;
//     when they differ the content differs, and the object is copied
//     whatever the target's metadata says (a tampered target may carry a
//     copied record). One exception needs a HEAD: an object encrypted
//     with KMS or a customer key has a 32-digit ETag that is no MD5, and
//     then the record decides. So when the target's record matches the
//     source (or the listing did not say), check: HEAD the target, then
//     the source, and skip only if one of them is so encrypted;
//  3. the target records the source ETag it was copied from: skip when it
//     equals the source's ETag, copy otherwise;
//  4. the target's metadata is known and holds no record: copy, as the
//     ETags cannot be compared (a multipart ETag, another tool's object);
//  5. metadata unknown (S3 listings do not carry it): check, which HEADs the
//     target and decides again with its metadata.
//
// Check is never returned once both entries are Headed.
func Decide(src Entry, dst *Entry) (Action, string) {
	switch {
	case dst == nil:
		return Copy, ReasonMissing
	case src.Size != dst.Size:
		return Copy, ReasonSize
	case plainMD5(src.ETag) && plainMD5(dst.ETag):
		switch {
		case src.ETag == dst.ETag:
			return Skip, ""
		case dst.MetaKnown && dst.Recorded != src.ETag:
			return Copy, ReasonChanged
		case (dst.Headed && dst.OpaqueETag) || (src.Headed && src.OpaqueETag):
			return Skip, "" // an encrypted side: the matching record decides
		case !dst.Headed || !src.Headed:
			return Check, ""
		}
		return Copy, ReasonChanged
	case !dst.MetaKnown:
		return Check, ""
	case dst.Recorded != "":
		if dst.Recorded == src.ETag {
			return Skip, ""
		}
		return Copy, ReasonChanged
	default:
		return Copy, ReasonUnknown
	}
}

// headEntry turns a HEAD's answer into an Entry.
func headEntry(rel string, st minio.ObjectInfo) *Entry {
	sse := strings.ToLower(st.Metadata.Get("X-Amz-Server-Side-Encryption"))
	return &Entry{Key: rel, Size: st.Size, ETag: NormalizeETag(st.ETag), Modified: st.LastModified,
		MetaKnown: true, Recorded: recorded(st.UserMetadata), Headed: true,
		OpaqueETag: strings.HasPrefix(sse, "aws:kms") || st.Metadata.Get("X-Amz-Server-Side-Encryption-Customer-Algorithm") != ""}
}

// NormalizeETag removes quotes and white space and lower-cases an ETag.
func NormalizeETag(etag string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(etag), `"`))
}

// plainMD5 reports whether an ETag has the form of a single-part MD5: 32
// hexadecimal digits. A multipart ETag ends in -N and is not comparable
// with anything but itself.
func plainMD5(etag string) bool {
	if len(etag) != 32 {
		return false
	}
	for i := 0; i < len(etag); i++ {
		c := etag[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// recorded returns the source ETag recorded in user metadata, whatever the
// case of its key and with or without the x-amz-meta- prefix.
func recorded(meta map[string]string) string {
	for k, v := range meta {
		k = strings.TrimPrefix(strings.ToLower(k), "x-amz-meta-")
		if strings.EqualFold(k, MetaSourceETag) {
			return NormalizeETag(v)
		}
	}
	return ""
}
