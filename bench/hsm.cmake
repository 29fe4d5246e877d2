# bench_hsm_ceiling: the service's per-key-set HSM work (derive, KCV, wrap, destroy x 3) in a
# loop against a SoftHSM token, 1 and 2 threads; ops/s as JSON on stdout.
if(TARGET sekds_hsm)
  add_executable(bench_hsm_ceiling ${CMAKE_CURRENT_LIST_DIR}/hsm_ceiling.cpp
    ${SEKDS_SOURCE_ROOT}/tests/support/softhsm_token.cpp)
  target_include_directories(bench_hsm_ceiling PRIVATE ${SEKDS_SOURCE_ROOT}/tests)
  target_link_libraries(bench_hsm_ceiling PRIVATE sekds_hsm nlohmann_json::nlohmann_json CLI11::CLI11 sekds_warnings)
endif()
