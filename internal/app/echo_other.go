//go:build !unix

package app

import "errors"

// echoOff is not available here: a hidden answer cannot be typed.
func echoOff(any) (func(), error) {
	return nil, errors.New("typing a hidden answer needs a Unix terminal")
}
