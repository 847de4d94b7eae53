public import NIOCore

/// Runs Swift tasks on a NIO event loop, so a call's handler runs on the thread its bytes
/// arrived on: no hop to the global pool and back (docs/ARCHITECTURE.md, "Threads").
public final class EventLoopTaskExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}
