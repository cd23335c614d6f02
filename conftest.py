pytest_plugins = ["tests.support.stack", "tests.support.s3", "tests.support.fixture_times"]
