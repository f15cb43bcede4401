from nsfleet_agent import memory


def test_glibc_takes_the_settings():
    assert memory.limit_malloc_retention() is True  # Debian: glibc
