// Assertion helper: runs f and returns the StoreErrc it throws (fails the test if none).
#pragma once

#include <boost/test/unit_test.hpp>

#include "store/store_error.h"

namespace sekds::test {

template <class F>
store::StoreErrc error_of(F&& f) {
  try {
    f();
  } catch (const store::StoreError& e) {
    BOOST_TEST_MESSAGE(e.name() << ": " << e.what());
    return e.code();
  }
  BOOST_ERROR("expected a StoreError, none was thrown");
  return store::StoreErrc::Internal;
}

}  // namespace sekds::test

// Pretty printing for BOOST_TEST comparisons of StoreErrc.
namespace sekds::store {
inline std::ostream& operator<<(std::ostream& os, StoreErrc e) { return os << store_errc_name(e); }
}  // namespace sekds::store
