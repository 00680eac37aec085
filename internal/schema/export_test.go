package schema

// CheckTypedList is checkTypedList, for provisioners_test.go (package
// schema_test, which may import package provision).
var CheckTypedList = checkTypedList
