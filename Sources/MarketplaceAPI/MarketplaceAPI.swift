/// The marketplace's messages, events and service stubs, generated at build time from
/// `Protos/marketplace/v1` by `ProtoGenPlugin` (a snapshot is committed in `Generated/swift`).
///
/// Every service's handler protocol (`Auth.Handler`, `Users.Handler`, …), client
/// (`Auth.Client`, …) and method descriptors (with their access rules and HTTP routes) come from
/// here, as do the event messages with their exchanges and routing keys.
public enum MarketplaceAPI {}
