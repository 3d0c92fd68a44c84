package socks

import "crypto/subtle"

// UserPassword is a CredentialStore holding one user name and password. The comparison takes
// the same time whatever the guess.
func UserPassword(user, password string) CredentialStore {
	return onePassword{user: []byte(user), password: []byte(password)}
}

type onePassword struct{ user, password []byte }

// Valid implements CredentialStore.
func (p onePassword) Valid(user, password, _ string) bool {
	u := subtle.ConstantTimeCompare([]byte(user), p.user)
	w := subtle.ConstantTimeCompare([]byte(password), p.password)
	return u&w == 1
}
