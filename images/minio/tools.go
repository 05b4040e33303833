//go:build tools

// Package tools names the command this module builds (MinIO's main package is its module
// root), so 'go mod tidy' keeps it.
package tools

import _ "github.com/minio/minio"
