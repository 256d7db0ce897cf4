/*
 * JmxProbe.java -- reads the test broker's own request and byte counters
 * over JMX for bench/run.  Attaches to the broker's JVM by pid (the Attach
 * API starts its local management agent: no JMX port, no broker option),
 * then answers each line read on stdin with one line:
 *
 *   fetch=N listoffsets=N produce=N bytesout=N
 *
 * fetch, listoffsets and produce: the Count of
 * kafka.network:type=RequestMetrics,name=RequestsPerSec,request=R summed
 * over every version tag (requests received since the broker started);
 * bytesout: the Count of kafka.server:type=BrokerTopicMetrics,
 * name=BytesOutPerSec (record bytes sent in Fetch answers, all topics).
 * Run as a single-file program: java JmxProbe.java PID.
 */
import com.sun.tools.attach.VirtualMachine;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public class JmxProbe {
    static long sum(MBeanServerConnection s, String pattern) throws Exception {
        long n = 0;
        for (ObjectName o : s.queryNames(new ObjectName(pattern), null))
            n += ((Number) s.getAttribute(o, "Count")).longValue();
        return n;
    }

    static long requests(MBeanServerConnection s, String r) throws Exception {
        return sum(s, "kafka.network:type=RequestMetrics,name=RequestsPerSec,request=" + r + ",*");
    }

    public static void main(String[] a) throws Exception {
        VirtualMachine vm = VirtualMachine.attach(a[0]);
        String addr = vm.startLocalManagementAgent();
        vm.detach();
        JMXConnector c = JMXConnectorFactory.connect(new JMXServiceURL(addr));
        MBeanServerConnection s = c.getMBeanServerConnection();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        System.out.println("ready");
        System.out.flush();
        while (in.readLine() != null) {
            System.out.println("fetch=" + requests(s, "Fetch")
                + " listoffsets=" + requests(s, "ListOffsets")
                + " produce=" + requests(s, "Produce")
                + " bytesout=" + sum(s, "kafka.server:type=BrokerTopicMetrics,name=BytesOutPerSec"));
            System.out.flush();
        }
        c.close();
    }
}
