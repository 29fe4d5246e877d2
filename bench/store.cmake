# bench_store_group_commit: audit appends/s with group commit vs one transaction per append.
if(TARGET sekds_store)
  add_executable(bench_store_group_commit ${CMAKE_CURRENT_LIST_DIR}/store_group_commit.cpp)
  target_link_libraries(bench_store_group_commit PRIVATE sekds_store sekds_warnings)
endif()
