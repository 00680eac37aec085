package hcl2template

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
)

func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
