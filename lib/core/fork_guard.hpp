#pragma once
// fork() copies a process's memory but only the calling thread: in a child, a client created
// before the fork has no I/O threads, its mutexes may be held forever, and its sockets are the
// parent's sessions. Objects record the fork generation they were created in; a child (a higher
// generation) must not use them, and must not close them either (closing would stop threads that
// do not exist and send Terminate on the parent's connections): they are left alone.

namespace enrich {

/// 0 in the process that loaded enrich; +1 in the child of every fork() after the first call.
/// Cheap (an atomic load): called on every operation.
unsigned fork_generation() noexcept;

/// The message of the error a forked child gets from a client created before the fork.
const char* forked_client_message() noexcept;

}  // namespace enrich
