package app

// skipContentChecks makes Receive skip the content checks and scanners, so
// make bench can measure what they cost. It is false in every build but
// the bench's (build tag sluicebench, benchhook_on.go): a released Sluice
// has no way to receive without its policy's checks.
var skipContentChecks = false
