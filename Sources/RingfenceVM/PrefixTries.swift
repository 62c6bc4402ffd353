import RingfenceBytecode
import RingfenceMatch

/// The second level of the rule index: for each candidate list (an action bucket's deny rules,
/// its allow rules, and the same for the wildcards), a radix tree over the literal prefixes of
/// its rules' resource patterns, plus the rules that have no usable resource test ("free").
///
/// A decision walks the request's resource down the tree; every node passed on the way names the
/// rules one of whose patterns can match such a resource. Rules elsewhere in the tree cannot (no
/// pattern's required prefix fits), so they are never examined. Laid out flat in buffers
/// allocated once at load; its owner frees them with `deallocate()`.
struct PrefixTries: @unchecked Sendable {
    // Safety: written once in `build`, read-only afterwards, freed by the owner.

    /// One node: its edge label, its children (contiguous in `nodes`, sorted by the first byte
    /// of their labels) and the rules filed at it.
    struct Node {
        var labelStart: Int32
        var labelCount: Int32
        var childStart: Int32
        var childCount: Int32
        var ruleStart: Int32
        var ruleCount: Int32
    }

    /// Per candidate list: the root node (-1 when no rule of the list has prefixes) and its free rules.
    struct List {
        var root: Int32
        var freeStart: Int32
        var freeCount: Int32
    }

    /// Lists of at most this many rules get no tree: all their rules are "free".
    static let smallList = 8

    let nodes: UnsafeBufferPointer<Node>
    let labels: UnsafeBufferPointer<UInt8>
    /// Rule runs, ascending within each run.
    let rules: UnsafeBufferPointer<Int32>
    let lists: UnsafeBufferPointer<List>

    /// Builds one tree per list of `lists` (rule indexes ascending), reading each rule's prefixes
    /// from `prefixes` (nil: a free rule).
    init(lists ruleLists: [[Int32]], prefixes: [[[UInt8]]?]) {
        var nodes: [Node] = []
        var labels: [UInt8] = []
        var rules: [Int32] = []
        var lists: [List] = []
        for list in ruleLists {
            if list.count <= PrefixTries.smallList {
                // A short list costs less to run whole than to walk a tree for.
                lists.append(List(root: -1, freeStart: Int32(truncatingIfNeeded: rules.count), freeCount: Int32(truncatingIfNeeded: list.count)))
                rules += list
                continue
            }
            var free: [Int32] = []
            // An uncompressed trie over bytes: children by byte, rules filed per node.
            var children: [[UInt8: Int]] = [[:]]
            var filed: [[Int32]] = [[]]
            for rule in list {
                guard let own = prefixes[Int(rule)] else {
                    free.append(rule)
                    continue
                }
                for prefix in own {
                    var node = 0
                    for byte in prefix {
                        if let next = children[node][byte] {
                            node = next
                        } else {
                            children.append([:])
                            filed.append([])
                            children[node][byte] = children.count - 1
                            node = children.count - 1
                        }
                    }
                    if filed[node].last != rule { filed[node].append(rule) }
                }
            }
            let freeStart = Int32(truncatingIfNeeded: rules.count)
            rules += free
            guard children.count > 1 || !filed[0].isEmpty else {
                lists.append(List(root: -1, freeStart: freeStart, freeCount: Int32(truncatingIfNeeded: free.count)))
                continue
            }
            // Breadth first, so each node's children are appended together (contiguous); chains
            // of rule-less single-child nodes are folded into one edge label.
            let root = nodes.count
            nodes.append(Node(labelStart: Int32(truncatingIfNeeded: labels.count), labelCount: 0, childStart: 0, childCount: 0,
                              ruleStart: Int32(truncatingIfNeeded: rules.count), ruleCount: Int32(truncatingIfNeeded: filed[0].count)))
            rules += filed[0]
            var queue: [(flat: Int, trie: Int)] = [(root, 0)]
            var head = 0
            while head < queue.count {
                let (flat, trie) = queue[head]
                head += 1
                nodes[flat].childStart = Int32(truncatingIfNeeded: nodes.count)
                nodes[flat].childCount = Int32(truncatingIfNeeded: children[trie].count)
                for (byte, first) in children[trie].sorted(by: { $0.key < $1.key }) {
                    let labelStart = labels.count
                    labels.append(byte)
                    var end = first
                    while filed[end].isEmpty, children[end].count == 1, let (next, child) = children[end].first {
                        labels.append(next)
                        end = child
                    }
                    nodes.append(Node(labelStart: Int32(truncatingIfNeeded: labelStart), labelCount: Int32(truncatingIfNeeded: labels.count - labelStart),
                                      childStart: 0, childCount: 0,
                                      ruleStart: Int32(truncatingIfNeeded: rules.count), ruleCount: Int32(truncatingIfNeeded: filed[end].count)))
                    rules += filed[end]
                    queue.append((nodes.count - 1, end))
                }
            }
            lists.append(List(root: Int32(truncatingIfNeeded: root), freeStart: freeStart, freeCount: Int32(truncatingIfNeeded: free.count)))
        }
        self.nodes = UnsafeBufferPointer(stableCopy(nodes))
        self.labels = UnsafeBufferPointer(stableCopy(labels))
        self.rules = UnsafeBufferPointer(stableCopy(rules))
        self.lists = UnsafeBufferPointer(stableCopy(lists))
    }

    /// Appends to `runs` (from `count` on) the runs of list `list` that can match `resource`: its
    /// free rules, then the rules of every node on the resource's path. Returns false when `runs`
    /// is full (the caller then falls back to the whole list).
    @inline(__always)
    func collect(list: Int, resource: UnsafeBufferPointer<UInt8>?, exact: Bool,
                 into runs: UnsafeMutableBufferPointer<CandidateRun>, count: inout Int) -> Bool {
        let entry = lists[list]
        if entry.freeCount > 0 {
            guard count < runs.count else { return false }
            runs[count] = CandidateRun(rules.baseAddress.unsafelyUnwrapped + Int(entry.freeStart), Int(entry.freeCount), exact: exact)
            count += 1
        }
        guard entry.root >= 0, let resource, let subject = resource.baseAddress else { return true }
        var node = nodes[Int(entry.root)]
        var position = 0
        while true {
            if node.ruleCount > 0 {
                guard count < runs.count else { return false }
                runs[count] = CandidateRun(rules.baseAddress.unsafelyUnwrapped + Int(node.ruleStart), Int(node.ruleCount), exact: exact)
                count += 1
            }
            guard position < resource.count, node.childCount > 0 else { return true }
            // The child whose label starts with the next byte (binary search over first bytes).
            let byte = subject[position]
            var low = Int(node.childStart), high = low + Int(node.childCount)
            while low < high {
                let mid = (low + high) >> 1
                if labels[Int(nodes[mid].labelStart)] < byte { low = mid + 1 } else { high = mid }
            }
            guard low < Int(node.childStart) + Int(node.childCount) else { return true }
            let child = nodes[low]
            let length = Int(child.labelCount)
            guard labels[Int(child.labelStart)] == byte, position + length <= resource.count else { return true }
            guard shortBytesEqual(labels.baseAddress.unsafelyUnwrapped + Int(child.labelStart), subject + position, count: length) else {
                return true
            }
            position += length
            node = child
        }
    }

    /// Frees the buffers (trivial element types only).
    func deallocate() {
        nodes.deallocateStable()
        labels.deallocateStable()
        rules.deallocateStable()
        lists.deallocateStable()
    }
}

/// A run of candidate rule indexes (ascending) and whether they came from the action's bucket.
struct CandidateRun {
    var next: UnsafePointer<Int32>
    var end: UnsafePointer<Int32>
    let exact: Bool

    @inline(__always)
    init(_ start: UnsafePointer<Int32>, _ count: Int, exact: Bool) {
        next = start
        end = start + count
        self.exact = exact
    }
}
