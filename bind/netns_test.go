package bind_test

// runNetnsChild is replaced when the netns test lands.
func runNetnsChild() bool { return false }
