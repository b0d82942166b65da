// Small progressive enhancements; every page also works without JavaScript.
