import FieldSyncCore
import FieldSyncProtocol
import FieldSyncStore
import Hummingbird

/// The service catalogue's routes: published by admins, read by operators and devices.
extension HTTPAPI {
    func addCatalogueRoutes(to router: Router<FieldSyncRequestContext>) {
        router.get("/v1/catalogue") { request, context in
            try await self.timed {
                let q = try Self.query(request, allowed: ["county", "version"])
                let caller = try await self.principal(request, context)
                guard let county = try Self.county(q.get("county")) ?? Self.defaultCounty(caller) else {
                    throw FieldSyncError(.invalidRequest, "give county (you read several)")
                }
                let version = try Self.int(q.get("version"), "version")
                if let version, !(1...Int(Int32.max)).contains(version) {
                    throw FieldSyncError(.invalidRequest, "version must be between 1 and 2147483647")
                }
                return try self.respond(
                    try await self.service.catalogue(county: county, version: version, by: caller), to: request)
            }
        }
        router.get("/v1/catalogue/versions") { request, context in
            try await self.timed {
                let q = try Self.query(request, allowed: ["county"])
                let caller = try await self.principal(request, context)
                guard let county = try Self.county(q.get("county")) ?? Self.defaultCounty(caller) else {
                    throw FieldSyncError(.invalidRequest, "give county (you read several)")
                }
                return try self.respond(
                    try await self.service.catalogueVersions(county: county, by: caller), to: request)
            }
        }
        router.post("/v1/admin/catalogue") { request, context in
            try await self.timed {
                var request = request
                let caller = try await self.principal(request, context)
                try self.service.requireAdminCaller(caller)
                let body = try await self.decode(ServiceCatalogue.self, from: &request, maxBytes: 1 << 20)
                return try self.respond(
                    try await self.service.publishCatalogue(body, by: caller, from: context.clientKey), to: request)
            }
        }
    }

    /// The county a caller means when it names none: a device's own, an operator's only one.
    static func defaultCounty(_ caller: Principal) -> String? {
        switch caller {
        case .device(let d): d.county
        case .operator(let o) where o.counties.count == 1 && o.counties[0] != "*": o.counties[0]
        default: nil
        }
    }
}
