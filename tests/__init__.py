import pytest

# The helpers assert too (harness, eventually): give their failures pytest's detailed messages.
pytest.register_assert_rewrite("tests.support")
